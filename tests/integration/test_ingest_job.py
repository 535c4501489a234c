"""The PyFlink ingest job end to end: real (durable, restarted) broker, real Flink mini-cluster,
real Iceberg tables, and a corpus of bad input with one record per reason code."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from flink import kafka_io, progress, watches
from flink.contract import ContractLimits, Reason
from flink.ingest_job import run_ingest
from flink.jobconfig import BatchPolicy, IngestJobConfig
from flink.sink import start_offsets
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC
from reasonlake.cli import cli
from services import broker as broker_mod

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

IDLE_S = 5.0


def valid(source: str, i: int, text: str | None = None) -> tuple[str, bytes]:
    return f"feedback.{source}", json.dumps(
        {
            "message_id": f"{source}-{i}",
            "source": source,
            "text": text or f"message {i}",
            "created_at": "2026-01-05T10:00:00Z",
            "rating": 1 + i % 5,
        }
    ).encode()


def body(source: str = "app", **fields) -> bytes:
    obj = {
        "message_id": f"bad-{random.Random(repr(fields)).random()}",
        "source": source,
        "text": "t",
        "created_at": "2026-01-05T10:00:00Z",
    }
    obj.update(fields)
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


MAX_RECORD_BYTES = 100_000  # configured lower than the default so an oversized record passes the broker

# One record per reason code a Kafka record can earn (BAD_ENVELOPE only comes from a validator bug).
INVALID = [
    ("feedback.crm", None, "null_value"),
    ("feedback.crm", b'{"text": "' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}', "record_too_large"),
    ("feedback.crm", b"\xff\xfe", "not_utf8"),
    ("feedback.app", b"{oops", "not_json"),
    ("feedback.app", b"[1, 2]", "not_object"),
    ("feedback.app", body(text=...), "missing_field"),
    ("feedback.app", body(message_id=42), "wrong_type"),
    ("feedback.app", body(text=" \n "), "empty_text"),
    ("feedback.app", body(text="y" * 20_001), "text_too_long"),
    ("feedback.app", body(created_at="yesterday at noon"), "bad_timestamp"),
    ("feedback.app", body(created_at="1970-01-01T00:00:00Z"), "timestamp_out_of_range"),
    ("feedback.app", body(created_at="2999-01-01T00:00:00+02:00"), "timestamp_out_of_range"),
    ("feedback.CRM", body(source="CRM"), "unknown_source"),
    ("feedback.app", body(source="crm"), "source_mismatch"),
    ("feedback.app", body(rating=9), "bad_rating"),
]
assert {r for _, _, r in INVALID} == {r.value for r in Reason} - {"bad_envelope"}


def garbage(n: int, seed: int = 5) -> list[tuple[str, bytes]]:
    """Mixed garbage: random bytes, JSON scalars, half objects, wrong nesting."""
    rng = random.Random(seed)
    fixed = [
        b"null",
        b"42",
        b'"a string"',
        b"{}",
        b'{"message_id": null}',
        b'{"user": "x"}',
        b'{"message_id": "m", "source": "crm", "text": "t", "created_at": "2026-01-05T10:00:00Z", "tags": "nope"}',
        b'{"message_id": "m", "source": "crm", "text": "t", "created_at": "2026-01-05T10:00:00Z", "user": [1]}',
        b'{"message_id": "m", "source": "crm", "text": "t", "created_at": "2026-01-05T10:00:00", "rating": 3}',
        '{"text": "\u00e9\u4e2d\U0001f600"}'.encode(),
        b"\x00" * 64,
    ]
    randoms = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(n - len(fixed))]
    return [("feedback.crm", v) for v in fixed + randoms]


def table_rows(settings, identifier: str) -> list[dict]:
    return lake_catalog.read(lake_catalog.load(settings), identifier).to_pylist()


def test_ingest_is_exactly_once_across_runs_and_broker_restarts(settings, broker) -> None:
    first = [valid("crm", i) for i in range(120)] + [valid("app", i) for i in range(40)]
    resent = [valid("crm", i) for i in range(10)]  # the same message_ids again: kept and counted
    junk = garbage(40)
    # bad records interleaved with valid ones on the same topics
    mixed = [x for pair in zip(first, [(t, v) for t, v, _ in INVALID] + junk) for x in pair] + first[
        len(INVALID) + len(junk) :
    ]
    kafka_io.produce(broker.bootstrap, mixed + resent + [(ALERTS_TOPIC, b'{"not": "input"}')])

    # the default (durable) broker is stopped and started before anything is ingested: nothing is lost
    home = ["--home", str(settings.home)]
    assert broker.storage == "s3"
    assert CliRunner().invoke(cli, home + ["down"]).output.strip() == "broker stopped"
    assert "storage s3" in CliRunner().invoke(cli, home + ["up"]).output

    config = IngestJobConfig.from_settings(
        settings,
        batch=BatchPolicy(batch_size=1000, flush_interval_s=1.0),
        limits=ContractLimits(max_record_bytes=MAX_RECORD_BYTES),
    )
    summary = run_ingest(settings, config, until_idle_s=IDLE_S)
    assert (summary.accepted, summary.rejected, summary.duplicates_skipped) == (
        len(first) + len(resent),
        len(INVALID) + len(junk),
        0,
    )
    assert summary.duplicate_message_ids == len(resent)
    raw = table_rows(settings, "raw.feedback")
    assert Counter(r["message_id"] for r in raw) == Counter(json.loads(v)["message_id"] for _, v in first + resent)
    assert len({(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in raw}) == len(raw)
    rejected = table_rows(settings, "raw.feedback_rejected")
    assert Counter(
        (r["kafka_topic"], r["reason"], r["raw_value"]) for r in rejected if r["raw_value"] not in {v for _, v in junk}
    ) == Counter((t, reason, v) for t, v, reason in INVALID)
    junk_rows = [r for r in rejected if r["kafka_topic"] == "feedback.crm" and r["raw_value"] in {v for _, v in junk}]
    assert Counter(r["raw_value"] for r in junk_rows) == Counter(v for _, v in junk)
    assert {r["reason"] for r in junk_rows} <= {r.value for r in Reason}
    assert all(r["detail"] and r["rejected_at"] is not None for r in rejected)
    assert all(r["ingested_at"] is not None for r in raw)

    # more records, on a topic the first run never saw too: only they are added
    second = [valid("crm", i) for i in range(120, 150)] + [valid("web", i) for i in range(25)]
    kafka_io.produce(broker_mod.bootstrap_servers(settings), second + [("feedback.web", b"[]")])
    # what the run waits for before it may call itself idle: at least one record on each of the two partitions
    backlog = watches.broker_backlog(config.source, start_offsets(lake_catalog.load(settings)))
    assert backlog(progress.totals([])) >= 2
    summary = run_ingest(settings, config, until_idle_s=IDLE_S)
    assert (summary.accepted, summary.rejected) == (55, 1)
    assert backlog(progress.totals([])) >= 2  # without this run's positions
    assert backlog(progress.totals(progress.read_progress(config.progress_dir, config.run_id))) == 0
    assert watches.broker_backlog(config.source, {}, known_only=True)(progress.totals([])) == 0
    assert summary.start_offsets, "the second run resumes from the committed offsets"
    raw = table_rows(settings, "raw.feedback")
    ids = [r["message_id"] for r in raw]
    assert len(ids) == 160 + 10 + 55 and len(set(ids)) == 160 + 55
    assert set(ids) == {json.loads(v)["message_id"] for _, v in first + second}
    assert len(table_rows(settings, "raw.feedback_rejected")) == len(INVALID) + len(junk) + 1


def test_two_subtasks_share_the_partitions_and_commit_concurrently(settings, broker) -> None:
    """Parallelism 2: the source spreads the topics' partitions over two subtasks, each commits its
    own batches to the same tables (concurrent commits retried); every record lands once."""
    from dataclasses import replace

    from flink import progress

    records = [valid(("crm", "support_portal", "review_portal")[i % 3], i) for i in range(6000)]
    kafka_io.produce(broker.bootstrap, records)
    config = IngestJobConfig.from_settings(settings, batch=BatchPolicy(batch_size=500, flush_interval_s=1.0))
    config = replace(config, runtime=replace(config.runtime, parallelism=2))
    summary = run_ingest(settings, config, until_idle_s=IDLE_S, verbose=False)
    assert summary.accepted == len(records) and summary.rejected == 0
    ids = Counter(r["message_id"] for r in table_rows(settings, "raw.feedback"))
    assert len(ids) == len(records) and ids.most_common(1)[0][1] == 1
    seen = {p.subtask: p.records_seen for p in progress.read_progress(config.progress_dir, config.run_id)}
    assert set(seen) == {0, 1} and all(n > 0 for n in seen.values()), seen


def test_until_idle_stops_on_a_broker_without_any_feedback(settings, broker) -> None:
    """Thread mode (the ingest default) opens the sink at job start, so idleness is counted from there:
    with no feedback topic at all the job stops after the idle time and writes nothing."""
    config = IngestJobConfig.from_settings(settings, batch=BatchPolicy(batch_size=500, flush_interval_s=1.0))
    assert config.runtime.python_mode == "thread"
    summary = run_ingest(settings, config, until_idle_s=2.0, verbose=False)
    assert (summary.accepted, summary.rejected) == (0, 0)
    assert summary.seconds < 120


def test_pending_batches_larger_than_the_jobmanager_heap_limit_checkpoint(settings, broker) -> None:
    """A pending batch of ~12 MB (the default batch size holds ~28 MB) checkpoints to the home's
    checkpoint directory. With Flink's default JobManager-heap checkpoint storage a subtask's state
    over 5 MB fails every checkpoint and so the job; here a failed checkpoint fails the test (no restarts).
    The driver's idle wait (2 s) is shorter than the flush interval (6 s): the batcher's notice that a
    batch opened keeps the job running until the batch is committed."""
    from dataclasses import replace

    n = 12_000
    kafka_io.produce(broker.bootstrap, [valid("crm", i, text=f"{i} " + "slow refund " * 45) for i in range(n)])
    config = IngestJobConfig.from_settings(settings, batch=BatchPolicy(batch_size=100_000, flush_interval_s=6.0))
    assert config.runtime.checkpoint_dir == (settings.home / "checkpoints").as_uri()
    config = replace(config, runtime=replace(config.runtime, checkpoint_interval_s=1.0, restart_attempts=0))
    summary = run_ingest(settings, config, until_idle_s=2.0, verbose=False)
    assert (summary.accepted, summary.rejected) == (n, 0)
    assert list((settings.home / "checkpoints").iterdir()), "no checkpoint was written to the home"
