"""The alert engine with a real Iceberg sink, and where the alert job resumes (no Flink)."""

from __future__ import annotations

import json

from flink.alerting import AlertEngine, resume_offsets
from flink.contract import KafkaEnvelope
from flink.sink import OffsetBatchSink
from lake import catalog as lake_catalog
from tests.support.alert_doubles import NOW, Lookup, Model, features, message

ALERTS = "alerts.alerts"


def test_engine_alerts_once_per_record_and_replays_idempotently(settings) -> None:
    cat = lake_catalog.load(settings)
    lookup = Lookup({"v7/3": features(), "v7/5": features(elected=False)})
    engine = AlertEngine(Model(), lookup, OffsetBatchSink(cat, {ALERTS: None}))
    records = [
        message("app crash", 0).envelope,
        message("prices are awful and too high", 1).envelope,
        message("nice", 2).envelope,
        KafkaEnvelope("feedback.crm", 1, 3, 0, b"not json"),
        message("crash on login", 4).envelope,
    ]
    sent = [engine.process(e, NOW) for e in records]
    assert [len(s) for s in sent] == [1, 0, 0, 0, 1]
    assert engine.sink.counts == {"alerts": 2, "no_alert": 1, "satisfied": 1, "invalid": 1}
    engine.sink.flush()
    table = lake_catalog.read(cat, ALERTS).to_pylist()
    assert sorted(r["kafka_offset"] for r in table) == [0, 4]
    assert lake_catalog.committed_offsets(cat.load_table(ALERTS)) == {("feedback.crm", 1): 4}

    replay = AlertEngine(Model(), lookup, OffsetBatchSink(cat, {ALERTS: None}))
    resent = [replay.process(e, NOW) for e in records]
    assert [json.loads(s[0])["alert_id"] for s in resent if s] == [json.loads(s[0])["alert_id"] for s in sent if s]
    replay.sink.flush()
    assert replay.sink.duplicates_skipped == 2
    assert len(lake_catalog.read(cat, ALERTS)) == 2


def test_resume_offsets_first_run_follows_ingestion_then_its_own(settings) -> None:
    cat = lake_catalog.load(settings)
    assert resume_offsets(cat) == {}  # nothing anywhere: EARLIEST everywhere
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(
            lake_catalog.ensure_table(cat, identifier),
            lake_catalog.to_arrow(identifier, []),
            offsets={("feedback.crm", 0): 41},
        )
    assert resume_offsets(cat) == {("feedback.crm", 0): 42}
    # the first run's start was recorded: ingestion moving on does not move the alert job's start
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(
            cat.load_table(identifier),
            lake_catalog.to_arrow(identifier, []),
            offsets={("feedback.crm", 0): 90, ("feedback.app", 0): 5},
        )
    assert resume_offsets(cat) == {("feedback.crm", 0): 42}


def test_a_happy_message_never_alerts_even_on_an_elected_reason(settings) -> None:
    lookup = Lookup({"v7/3": features()})
    engine = AlertEngine(Model(), lookup, OffsetBatchSink(lake_catalog.load(settings), {ALERTS: None}))
    happy = message("the app update is great, no crash at all, love it", 0).envelope
    angry = message("the app crashed again, terrible", 1).envelope
    assert engine.process(happy, NOW) == [] and len(engine.process(angry, NOW)) == 1
    assert engine.sink.counts == {"satisfied": 1, "alerts": 1}
    assert lookup.asked == [["v7/3"]]  # the happy one was not even classified
