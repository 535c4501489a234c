"""The PyFlink alert job end to end with file-backed fakes of the topic model and Feast lookup.

The real model and online store are tested with their owners' fixtures; this checks the job
itself: where it starts, what it sends to ``feedback.alerts`` and writes to ``alerts.alerts``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from flink import kafka_io
from flink.alert_job import run_alerts
from flink.jobconfig import AlertJobConfig, BatchPolicy
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAKES = Path(__file__).resolve().parents[1] / "support" / "alert_fakes.py"


def msg(source: str, mid: str, text: str) -> tuple[str, bytes]:
    return f"feedback.{source}", json.dumps(
        {"message_id": mid, "source": source, "text": text, "created_at": "2026-01-05T10:00:00Z"}
    ).encode()


def test_alert_job_alerts_on_new_messages_of_elected_reasons(settings, broker, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(FAKES.parent))
    import alert_fakes

    alert_fakes.TopicArtifact("v1", "2026-W01", {"crash": 0, "price": 1}, {0: "crashes", 1: "prices"}).save(settings)
    alert_fakes.write_features(
        settings,
        {
            "v1/0": {
                "label": "app crashes",
                "rank": 1,
                "share": 0.5,
                "elected": True,
                "week": "2026-W01",
                "model_version": "v1",
            },
            "v1/1": {
                "label": "prices",
                "rank": 2,
                "share": 0.2,
                "elected": False,
                "week": "2026-W01",
                "model_version": "v1",
            },
        },
    )
    config = AlertJobConfig.from_settings(
        settings,
        batch=BatchPolicy(batch_size=100, flush_interval_s=1.0),
        model_module="alert_fakes",
        lookup_module="alert_fakes",
    )
    config = replace(config, runtime=replace(config.runtime, python_files=(str(FAKES),)))

    # history: already ingested before alerting existed (simulated by the offsets ingestion records)
    kafka_io.produce(broker.bootstrap, [msg("crm", f"old-{i}", "old crash") for i in range(5)])
    ingested: dict[tuple[str, int], int] = {}
    for r in kafka_io.consume(broker.bootstrap, ["feedback.crm"], max_idle_s=1.0):
        ingested[(r.topic, r.partition)] = max(r.offset, ingested.get((r.topic, r.partition), -1))
    cat = lake_catalog.load(settings)
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(
            lake_catalog.ensure_table(cat, identifier), lake_catalog.to_arrow(identifier, []), offsets=ingested
        )

    new = [
        msg("crm", "c1", "It crashed twice, awful"),
        msg("app", "a1", "crash on start"),
        msg("app", "a2", "price is high"),
        msg("crm", "c2", "lovely"),
        ("feedback.app", b"not json"),
        msg("crm", "c3", "CRASH!!"),
    ]
    kafka_io.produce(broker.bootstrap, new)
    summary = run_alerts(settings, config, until_idle_s=5.0)
    assert (summary.alerts, summary.invalid, summary.messages) == (3, 1, 6)

    rows = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts").to_pylist()
    assert sorted(r["message_id"] for r in rows) == ["a1", "c1", "c3"]
    assert {(r["reason_id"], r["label"], r["model_version"], r["week"]) for r in rows} == {
        ("v1/0", "app crashes", "v1", "2026-W01")
    }
    sent = [json.loads(r.value) for r in kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=1.5)]
    assert sorted(a["alert_id"] for a in sent) == sorted(r["alert_id"] for r in rows)

    # the next run continues after what this one committed
    kafka_io.produce(broker.bootstrap, [msg("web", "w1", "crash again"), msg("crm", "c4", "fine")])
    summary = run_alerts(settings, config, until_idle_s=5.0)
    assert (summary.alerts, summary.messages, summary.duplicates_skipped) == (1, 2, 0)
    rows = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts").to_pylist()
    assert sorted(r["message_id"] for r in rows) == ["a1", "c1", "c3", "w1"]
    assert len(kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=1.5)) == 4
