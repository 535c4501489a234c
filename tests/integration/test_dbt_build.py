"""A real ``dbt build`` over a temporary Iceberg catalog: dedup, normalization, weeks, rejections,
and ``dbt docs generate``."""

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

from dagster_project.cleaning.resources import cleaned_texts, prepare, run_dbt
from lake import catalog as lake_catalog
from lake.settings import Settings
from reasons.marts import read_messages, read_week_messages
from tests.support import pii_corpus

pytestmark = pytest.mark.slow

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def feedback_row(
    message_id,
    source,
    text,
    *,
    offset,
    ingested_at=T0,
    partition=0,
    created_at=datetime(2026, 1, 6, 9, 0, tzinfo=UTC),
    rating=None,
):
    return dict(
        message_id=message_id,
        source=source,
        text=text,
        created_at=created_at,
        user_id=f"u-{message_id}",
        user_segment="smb",
        user_country="FR",
        tags=["billing"],
        rating=rating,
        attributes="{}",
        kafka_topic=f"feedback.{source}",
        kafka_partition=partition,
        kafka_offset=offset,
        kafka_timestamp=ingested_at,
        ingested_at=ingested_at,
    )


def rejected_row(reason, source, *, offset, rejected_at=T0):
    return dict(
        reason=reason,
        detail=f"because {reason}",
        raw_value=b"\xff{",
        message_id=None,
        source=source,
        kafka_topic=f"feedback.{source or 'x'}",
        kafka_partition=0,
        kafka_offset=offset,
        kafka_timestamp=rejected_at,
        rejected_at=rejected_at,
    )


PII = [s for s in pii_corpus.corpus(per_kind=20) if s.kind is not None]

FEEDBACK = [
    # a duplicate: same (source, message_id) ingested twice; the first ingested copy wins
    feedback_row("m1", "crm", "  Refund   took\tthree\n weeks ", offset=0, rating=1),
    feedback_row("m1", "crm", "a later copy", offset=7, ingested_at=T0 + timedelta(minutes=5)),
    # a replay: same ingested_at, the lowest offset wins
    feedback_row("m2", "crm", "lowest offset", offset=3),
    feedback_row("m2", "crm", "higher offset", offset=4),
    # same message_id on another source is another message
    feedback_row("m1", "app", "App\u00a0crashes\u2003on login", offset=0, partition=1, rating=2),
    # whitespace-only texts are dropped ...
    feedback_row("m3", "crm", " \t\n ", offset=5),
    # ... but a message whose first copy was empty keeps its first non-empty copy
    feedback_row("m4", "crm", "   ", offset=6),
    feedback_row("m4", "crm", "second try", offset=8, ingested_at=T0 + timedelta(minutes=1)),
    # channel text: a handle, emoji, hashtag, URL, e-mail address and a signature
    feedback_row(
        "m7", "crm", "@AcmeBank charged me TWICE 😡😡 #refund https://t.co/x1 mail a.b@x.com\n-- \nJane", offset=15
    ),
    # personal data: one generated message per kind and value (tests/support/pii_corpus.py)
    *(feedback_row(f"p{i}", "pii", sample.text, offset=100 + i) for i, sample in enumerate(PII)),
    # ISO weeks in UTC: Sunday 23:30 UTC belongs to the previous ISO week (and year)
    feedback_row("m5", "crm", "old one", offset=9, created_at=datetime(2021, 1, 3, 23, 30, tzinfo=UTC)),
    # Monday 00:30 at +02:00 is Sunday 22:30 UTC: week 2026-W02, not W03
    feedback_row(
        "m6", "crm", "timezone", offset=10, created_at=datetime(2026, 1, 12, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    ),
]

REJECTED = [
    rejected_row("not_json", "crm", offset=11),
    rejected_row("not_json", "crm", offset=12),
    rejected_row("bad_rating", "app", offset=13),
    rejected_row("bad_envelope", None, offset=14, rejected_at=T0 + timedelta(days=1)),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A home with raw rows, after a real ``dbt build`` (artifacts in a private target path)."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home)
    catalog = lake_catalog.load(settings)
    lake_catalog.append(
        lake_catalog.ensure_table(catalog, "raw.feedback"), lake_catalog.to_arrow("raw.feedback", FEEDBACK)
    )
    lake_catalog.append(
        lake_catalog.ensure_table(catalog, "raw.feedback_rejected"),
        lake_catalog.to_arrow("raw.feedback_rejected", REJECTED),
    )
    target = tmp_path_factory.mktemp("dbt-target")
    env = {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)}
    prepare(settings)
    proc = run_dbt(settings, ["build"], env=env)
    assert "Completed successfully" in proc.stdout
    return settings, target, env


def _mart(settings: Settings, with_pii: bool = False) -> dict[tuple[str, str], dict]:
    """The mart's rows by (source, message id); the PII corpus rows (source ``pii``) only if asked."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        table = con.sql("select * from marts.fct_feedback_messages").to_arrow_table()
    return {(r["source"], r["message_id"]): r for r in table.to_pylist() if with_pii or r["source"] != "pii"}


def test_duckdb_file_is_under_the_home(built):
    settings, _, _ = built
    assert settings.duckdb_path.exists()
    assert settings.duckdb_path.is_relative_to(settings.home)


def test_mart_is_deduplicated_keeping_the_first_ingested_copy(built):
    settings, _, _ = built
    mart = _mart(settings)
    assert sorted(mart) == [
        ("app", "m1"),
        ("crm", "m1"),
        ("crm", "m2"),
        ("crm", "m4"),
        ("crm", "m5"),
        ("crm", "m6"),
        ("crm", "m7"),
    ]
    assert mart[("crm", "m1")]["kafka_offset"] == 0 and mart[("crm", "m1")]["copies_ingested"] == 2
    assert mart[("crm", "m2")]["text"] == "lowest offset"
    assert mart[("crm", "m4")]["text"] == "second try"  # the empty first copy was dropped
    assert mart[("app", "m1")]["kafka_partition"] == 1 and mart[("app", "m1")]["rating"] == 2


def test_text_is_normalized_and_the_original_kept(built):
    settings, _, _ = built
    mart = _mart(settings)
    assert mart[("crm", "m1")]["text"] == "  Refund   took\tthree\n weeks "
    assert mart[("crm", "m1")]["text_normalized"] == "Refund took three weeks"
    assert mart[("app", "m1")]["text_normalized"] == "App crashes on login"
    assert all(r["text_normalized"].strip() for r in mart.values())
    assert ("crm", "m3") not in mart


def test_the_modelling_text_drops_channel_noise_and_lists_mentions(built):
    settings, _, _ = built
    mart = _mart(settings)
    assert mart[("crm", "m7")]["text_modelling"] == "charged me TWICE refund mail"
    assert list(mart[("crm", "m7")]["mentions"]) == ["AcmeBank"]
    assert mart[("crm", "m7")]["text"].startswith("@AcmeBank")  # the text as sent is kept (PII redacted)
    assert mart[("crm", "m1")]["text_modelling"] == "Refund took three weeks"
    assert list(mart[("crm", "m1")]["mentions"]) == []


def test_text_read_outside_the_lake_is_cleaned_by_the_same_macros(built):
    """``cleaned_texts`` (what bench/quality.py gives its corpora) renders the staging model's macros: on
    every (redacted) text of the mart it gives the model's own modelling text and mentions."""
    settings, _, _ = built
    rows = list(_mart(settings, with_pii=True).values())
    assert len(rows) >= 8
    outside = cleaned_texts([r["text"] for r in rows])
    assert outside["text_modelling"].tolist() == [r["text_modelling"] for r in rows]
    assert outside["mentions"].tolist() == [list(r["mentions"]) for r in rows]


def test_no_personal_data_leaves_raw(built):
    """Every value of the PII corpus is in raw.feedback and in no model, mart or test result of the
    DuckDB file; the texts carry placeholders instead, and the modelling text drops them."""
    settings, _, _ = built
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables where table_schema <> 'raw'"
        ).fetchall()
        assert len(tables) >= 4
        dumps = {f"{s}.{t}": str(con.sql(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables}
        raw = str(con.sql("select text from raw.feedback").fetchall())
    values = [sample.value for sample in PII]
    assert all(v in raw for v in values)
    leaks = {name: [v for v in values if v in dump] for name, dump in dumps.items()}
    assert not any(leaks.values()), leaks
    mart = _mart(settings, with_pii=True)
    for i, sample in enumerate(PII):
        row = mart[("pii", f"p{i}")]
        assert f"<{sample.kind}>" in row["text"] and f"<{sample.kind}>" not in row["text_modelling"]
    assert mart[("crm", "m7")]["text"].endswith("mail <EMAIL>\n-- \nJane")


def test_week_is_the_iso_week_of_created_at_in_utc(built):
    settings, _, _ = built
    mart = _mart(settings)
    assert mart[("crm", "m1")]["week"] == "2026-W02"
    assert mart[("crm", "m5")]["week"] == "2020-W53"
    assert mart[("crm", "m6")]["week"] == "2026-W02"
    # and the provenance and customer columns are carried along
    row = mart[("crm", "m1")]
    assert (row["user_id"], row["user_segment"], row["user_country"], row["tags"]) == ("u-m1", "smb", "FR", ["billing"])
    assert row["kafka_topic"] == "feedback.crm" and row["created_at"] == datetime(2026, 1, 6, 9, tzinfo=UTC)


def test_rejections_summarized_by_day_source_reason(built):
    settings, _, _ = built
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select rejected_on::varchar, source, reason, rejection_count "
            "from marts.fct_feedback_rejections_daily order by 1, 2, 3"
        ).fetchall()
    assert rows == [
        ("2026-01-05", "app", "bad_rating", 1),
        ("2026-01-05", "crm", "not_json", 2),
        ("2026-01-06", "unknown", "bad_envelope", 1),
    ]


def test_marts_reader(built):
    settings, _, _ = built
    week = read_week_messages(settings, "2026-W02")
    assert list(week.columns) == [
        "message_id",
        "source",
        "text",
        "text_modelling",
        "mentions",
        "created_at",
        "rating",
        "week",
    ]
    assert sorted((s, m) for s, m in zip(week.source, week.message_id) if s != "pii") == [
        ("app", "m1"),
        ("crm", "m1"),
        ("crm", "m2"),
        ("crm", "m4"),
        ("crm", "m6"),
        ("crm", "m7"),
    ]
    assert "Refund took three weeks" in set(week.text)  # the normalized text
    assert str(week.created_at.dt.tz) == "UTC" and str(week.rating.dtype) == "Int64"
    assert read_week_messages(settings, "2026-W10").empty
    assert len(read_messages(settings)) == 7 + len(PII)
    assert list(read_messages(settings, ["2020-W53"]).message_id) == ["m5"]
    with pytest.raises(ValueError):
        read_week_messages(settings, "2026-02")


def test_rebuild_is_idempotent(built):
    settings, _, env = built
    run_dbt(settings, ["build", "--select", "marts"], env=env)
    assert len(_mart(settings)) == 7


def test_docs_generate(built):
    settings, target, env = built
    run_dbt(settings, ["docs", "generate"], env=env)
    assert (target / "catalog.json").exists() and (target / "index.html").exists()
    catalog = (target / "catalog.json").read_text()
    assert "fct_feedback_messages" in catalog and "source.reasonlake.raw.feedback" in catalog
    # the docs' lineage goes on past the marts: the fit, the election, Feast and the alerts
    import json

    exposures = json.loads((target / "manifest.json").read_text())["exposures"]
    assert {e["name"] for e in exposures.values()} == {
        "weekly_topic_model",
        "weekly_election",
        "feast_reasons",
        "realtime_alerts",
    }
    assert all(e["depends_on"]["nodes"] == ["model.reasonlake.fct_feedback_messages"] for e in exposures.values())
