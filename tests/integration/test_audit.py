"""lake.audit: read-only SQL over a temporary catalog (and the dbt DuckDB file), three formats."""

import csv
import io
import json
from datetime import UTC, datetime

import duckdb
import pytest

from lake import catalog as lake_catalog
from lake.audit import check_read_only, format_result, run_audit
from lake.errors import ReadOnlyQueryError
from lake.settings import Settings

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def rejected_row(reason, source, offset):
    return dict(
        reason=reason,
        detail="d",
        raw_value=b"\x00\x01",
        message_id=None,
        source=source,
        kafka_topic=f"feedback.{source}",
        kafka_partition=0,
        kafka_offset=offset,
        kafka_timestamp=T0,
        rejected_at=T0,
    )


@pytest.fixture
def audited(tmp_path):
    settings = Settings(home=tmp_path)
    catalog = lake_catalog.load(settings)
    lake_catalog.ensure_all(catalog)
    rows = [
        rejected_row("not_json", "crm", 1),
        rejected_row("not_json", "app", 2),
        rejected_row("bad_rating", "crm", 3),
    ]
    lake_catalog.append(
        catalog.load_table("raw.feedback_rejected"), lake_catalog.to_arrow("raw.feedback_rejected", rows)
    )
    return settings


QUERY = (
    "select reason, count(*) as n, max(rejected_at) as last_at, any_value(raw_value) as raw "
    "from raw.feedback_rejected group by 1 order by 1"
)


def test_query_in_all_formats(audited):
    result = run_audit(audited, QUERY)
    assert result.column_names == ["reason", "n", "last_at", "raw"]
    assert result.column("reason").to_pylist() == ["bad_rating", "not_json"]

    text = format_result(result, "table")
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split("|")] == ["reason", "n", "last_at", "raw"]
    assert [c.strip() for c in lines[3].split("|")] == ["not_json", "2", "2026-01-05T12:00:00+00:00", "AAE="]
    assert lines[-1] == "(2 rows)"

    rows = list(csv.DictReader(io.StringIO(format_result(result, "csv"))))
    assert rows[1]["reason"] == "not_json" and rows[1]["n"] == "2"
    assert rows[1]["last_at"] == "2026-01-05T12:00:00+00:00"

    parsed = json.loads(format_result(result, "json"))
    assert parsed == [
        {"reason": "bad_rating", "n": 1, "last_at": "2026-01-05T12:00:00+00:00", "raw": "AAE="},
        {"reason": "not_json", "n": 2, "last_at": "2026-01-05T12:00:00+00:00", "raw": "AAE="},
    ]


def test_empty_tables_and_other_namespaces(audited):
    assert run_audit(audited, "select count(*) as n from raw.feedback").column("n").to_pylist() == [0]
    assert run_audit(audited, "select * from ml.elections").num_rows == 0
    assert json.loads(format_result(run_audit(audited, "select * from raw.feedback"), "json")) == []


def test_dbt_file_is_attached_read_only(audited):
    audited.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(audited.duckdb_path)) as con:
        con.execute("create schema marts; create table marts.fct_x as select 42 as answer")
        con.execute("create schema raw; create table raw.feedback_rejected as select 'dbt copy' as reason")
    assert run_audit(audited, "select answer from marts.fct_x").column("answer").to_pylist() == [42]
    assert run_audit(audited, "select answer from reasonlake.marts.fct_x").num_rows == 1
    # raw.* are the Iceberg tables; dbt's copies stay reachable under the file's name
    assert run_audit(audited, "select count(*) as n from raw.feedback_rejected").column("n").to_pylist() == [3]
    assert run_audit(audited, "select reason from reasonlake.raw.feedback_rejected").column("reason").to_pylist() == [
        "dbt copy"
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "insert into raw.feedback_rejected select * from raw.feedback_rejected",
        "delete from raw.feedback_rejected",
        "drop table raw.feedback_rejected",
        "create table x as select 1",
        "select 1; drop table raw.feedback_rejected",
        "copy (select 1) to '/tmp/out.csv'",
        "attach 'x.duckdb' as x",
        "explain analyze delete from raw.feedback_rejected",
        "set threads = 1",
        "install httpfs",
        "load httpfs",
        "pragma enable_profiling",
        "reset enable_external_access",
        "checkpoint",
        "export database '/tmp/out'",
        "select 1;; select 2",
        "with x as (select 1) delete from raw.feedback_rejected",
    ],
)
def test_write_statements_are_refused(audited, sql):
    with pytest.raises(ReadOnlyQueryError, match=r"read-only|exactly one"):
        run_audit(audited, sql)


@pytest.mark.parametrize(
    "reader",
    [
        "read_csv('{path}')",
        "read_text('{path}')",
        "read_blob('{path}')",
        "'{path}'",  # a replacement scan of a file path
        "glob('{dir}/*')",
        "read_csv('https://example.com/x.csv')",
        "read_parquet('s3://bucket/x.parquet')",
    ],
)
def test_files_and_urls_are_not_readable_from_a_query(audited, tmp_path, reader):
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with pytest.raises(duckdb.Error):
        run_audit(audited, "select * from " + reader.format(path=tmp_path / "secret.csv", dir=tmp_path))


def test_read_only_forms_accepted():
    for sql in [
        "select 1",
        "with a as (select 1) select * from a;",
        "describe raw.feedback",
        "explain select 1",
        "from raw.feedback",
    ]:
        check_read_only(sql)


def test_unknown_format(audited):
    with pytest.raises(ValueError):
        format_result(run_audit(audited, "select 1 as x"), "xml")


def _days(settings, days: int = 5, per_day: int = 40) -> None:
    """``per_day`` rejected rows on each of ``days`` days, one commit (one data file) per day."""
    from datetime import timedelta

    catalog = lake_catalog.load(settings)
    table = catalog.load_table("raw.feedback_rejected")
    for d in range(days):
        rows = [
            {**rejected_row("not_json", "crm", 100 + d * per_day + i), "rejected_at": T0 + timedelta(days=d)}
            for i in range(per_day)
        ]
        lake_catalog.append(table, lake_catalog.to_arrow("raw.feedback_rejected", rows))


def test_an_audit_reads_data_files_through_a_pushed_down_scan_not_the_whole_table(audited, monkeypatch):
    """The audit never materializes a table through pyiceberg when its files can be scanned directly:
    DuckDB pushes the columns and the filter into an Arrow dataset over the planned data files."""
    from pyiceberg.table import DataScan

    from lake.audit import iceberg_relation

    _days(audited)

    def whole_table(self):  # what the audit did before: every row and column in memory
        raise AssertionError("the whole table was read")

    monkeypatch.setattr(DataScan, "to_arrow", whole_table)
    one_day = run_audit(
        audited,
        "select count(*) as n, min(kafka_offset) as first from raw.feedback_rejected "
        "where rejected_at >= timestamptz '2026-01-07 00:00:00+00' and rejected_at < timestamptz '2026-01-08 00:00:00+00'",
    ).to_pylist()
    assert one_day == [{"n": 40, "first": 180}]
    assert run_audit(audited, "select count(*) as n from raw.feedback_rejected").to_pylist() == [{"n": 3 + 5 * 40}]
    relation = iceberg_relation(lake_catalog.load(audited).load_table("raw.feedback_rejected"))
    assert len(relation.files) == 1 + 5  # the fixture's commit and one per day


def test_a_table_with_deletes_or_nothing_yet_is_read_through_pyiceberg(audited):
    from pyiceberg.expressions import EqualTo

    from lake.audit import iceberg_relation

    catalog = lake_catalog.load(audited)
    assert iceberg_relation(catalog.load_table("raw.feedback")).num_rows == 0  # no snapshot: an empty table
    table = catalog.load_table("raw.feedback_rejected")
    table.delete(delete_filter=EqualTo("reason", "bad_rating"))
    rows = run_audit(audited, "select reason, count(*) as n from raw.feedback_rejected group by 1").to_pylist()
    assert rows == [{"reason": "not_json", "n": 2}]
