"""The PyFlink ingest job end to end: real broker, real Flink mini-cluster, real Iceberg tables."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from flink import kafka_io
from flink.ingest_job import run_ingest
from flink.jobconfig import BatchPolicy, IngestJobConfig
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

IDLE_S = 5.0


def valid(source: str, i: int) -> tuple[str, bytes]:
    return f"feedback.{source}", json.dumps({"message_id": f"{source}-{i}", "source": source, "text": f"message {i}",
                                            "created_at": "2026-01-05T10:00:00Z", "rating": 1 + i % 5}).encode()


INVALID = [
    ("feedback.crm", b"\xff\xfe", "not_utf8"),
    ("feedback.crm", None, "null_value"),
    ("feedback.app", b"{oops", "not_json"),
    ("feedback.app", json.dumps({"message_id": "x1", "source": "crm", "text": "t",
                                 "created_at": "2026-01-05T10:00:00Z"}).encode(), "source_mismatch"),
    ("feedback.app", json.dumps({"message_id": "x2", "source": "app", "text": "t", "created_at": "2026-01-05T10:00:00Z",
                                 "rating": 9}).encode(), "bad_rating"),
]


def table_rows(settings, identifier: str) -> list[dict]:
    return lake_catalog.read(lake_catalog.load(settings), identifier).to_pylist()


def test_ingest_is_exactly_once_across_runs(settings, broker) -> None:
    config = IngestJobConfig.from_settings(settings, batch=BatchPolicy(batch_size=1000, flush_interval_s=1.0))
    first = [valid("crm", i) for i in range(120)] + [valid("app", i) for i in range(40)]
    kafka_io.produce(broker.bootstrap, first + [(t, v) for t, v, _ in INVALID] + [(ALERTS_TOPIC, b'{"not": "input"}')])

    summary = run_ingest(settings, config, until_idle_s=IDLE_S)
    assert (summary.accepted, summary.rejected, summary.duplicates_skipped) == (160, len(INVALID), 0)
    raw = table_rows(settings, "raw.feedback")
    assert sorted(r["message_id"] for r in raw) == sorted(json.loads(v)["message_id"] for _, v in first)
    rejected = table_rows(settings, "raw.feedback_rejected")
    assert Counter((r["kafka_topic"], r["reason"], r["raw_value"]) for r in rejected) == \
        Counter((t, reason, v) for t, v, reason in INVALID)
    assert all(r["ingested_at"] is not None for r in raw)

    # more records, on a topic the first run never saw too: only they are added
    second = [valid("crm", i) for i in range(120, 150)] + [valid("web", i) for i in range(25)]
    kafka_io.produce(broker.bootstrap, second + [("feedback.web", b"[]")])
    summary = run_ingest(settings, config, until_idle_s=IDLE_S)
    assert (summary.accepted, summary.rejected) == (55, 1)
    assert summary.start_offsets, "the second run resumes from the committed offsets"
    raw = table_rows(settings, "raw.feedback")
    ids = [r["message_id"] for r in raw]
    assert len(ids) == len(set(ids)) == 160 + 55
    assert set(ids) == {json.loads(v)["message_id"] for _, v in first + second}
    assert len(table_rows(settings, "raw.feedback_rejected")) == len(INVALID) + 1
