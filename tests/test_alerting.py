"""The alert decision, the cached lookup, the engine and where the alert job resumes (no Flink)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from flink.alerting import AlertEngine, alert_id, alert_json, decide, resume_offsets
from flink.contract import Accepted, KafkaEnvelope, validate
from flink.sink import OffsetBatchSink
from lake import catalog as lake_catalog

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
ALERTS = "alerts.alerts"


@dataclass(frozen=True)
class A:
    topic_id: int
    similarity: float = 0.8


class Model:
    model_version = "v7"
    week = "2026-W10"

    def assign(self, texts: list[str]) -> list[A]:
        return [A(3) if "crash" in t else A(5) if "price" in t else A(-1) for t in texts]

    def label(self, topic_id: int) -> str:
        return f"model label {topic_id}"

    def reason_id(self, topic_id: int) -> str:
        return f"{self.model_version}/{topic_id}"


class Lookup:
    def __init__(self, features: dict[str, dict]) -> None:
        self.features = features
        self.asked: list[list[str]] = []

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]:
        self.asked.append(list(reason_ids))
        return {r: self.features.get(r) for r in reason_ids}


def features(elected: bool = True, model_version: str = "v7", **extra) -> dict:
    return {"label": "app crashes", "rank": 1, "share": 0.4, "elected": elected, "week": "2026-W10",
            "model_version": model_version, **extra}


def message(text: str = "the app crash again", offset: int = 11, topic: str = "feedback.crm") -> Accepted:
    value = json.dumps({"message_id": f"m{offset}", "source": topic.split(".")[1], "text": text,
                        "created_at": "2026-03-09T08:00:00Z"}).encode()
    out = validate(KafkaEnvelope(topic, 1, offset, 1_773_000_000_000, value), NOW)
    assert isinstance(out, Accepted)
    return out


def test_elected_reason_of_the_same_model_alerts() -> None:
    row = decide(message(), A(3, 0.77), Model(), features(), NOW)
    assert row is not None
    assert (row["topic_id"], row["reason_id"], row["label"], row["week"], row["model_version"]) == \
        (3, "v7/3", "app crashes", "2026-W10", "v7")
    assert (row["message_id"], row["source"], row["text"], row["similarity"]) == ("m11", "crm", "the app crash again", 0.77)
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("feedback.crm", 1, 11)
    assert row["alerted_at"] == NOW and row["alert_id"] == alert_id("v7", "feedback.crm", 1, 11)
    lake_catalog.to_arrow(ALERTS, [row])   # fits the table contract


@pytest.mark.parametrize("assignment,feats", [
    (A(-1), features()),                               # outlier
    (A(3), None),                                      # reason unknown online
    (A(3), features(elected=False)),                   # candidate, not elected
    (A(3), features(model_version="v6")),              # features of another model's topics
])
def test_no_alert(assignment: A, feats: dict | None) -> None:
    assert decide(message(), assignment, Model(), feats, NOW) is None


def test_label_falls_back_to_the_model() -> None:
    row = decide(message(), A(3), Model(), features(label=None), NOW)
    assert row is not None and row["label"] == "model label 3"


def test_alert_id_is_stable_and_positional() -> None:
    a = alert_id("v7", "feedback.crm", 1, 11)
    assert a == alert_id("v7", "feedback.crm", 1, 11)
    assert len({a, alert_id("v8", "feedback.crm", 1, 11), alert_id("v7", "feedback.crm", 1, 12),
                alert_id("v7", "feedback.crm", 2, 11), alert_id("v7", "feedback.app", 1, 11)}) == 5


def test_alert_json_is_the_row_with_iso_times() -> None:
    row = decide(message(), A(3), Model(), features(), NOW)
    out = json.loads(alert_json(row))
    assert out["alerted_at"] == NOW.isoformat() and out["alert_id"] == row["alert_id"]
    assert set(out) == set(row)


def test_engine_alerts_once_per_record_and_replays_idempotently(settings) -> None:
    cat = lake_catalog.load(settings)
    lookup = Lookup({"v7/3": features(), "v7/5": features(elected=False)})
    engine = AlertEngine(Model(), lookup, OffsetBatchSink(cat, {ALERTS: None}))
    records = [message("app crash", 0).envelope, message("prices are awful and too high", 1).envelope,
               message("nice", 2).envelope, KafkaEnvelope("feedback.crm", 1, 3, 0, b"not json"),
               message("crash on login", 4).envelope]
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
    assert resume_offsets(cat) == {}      # nothing anywhere: EARLIEST everywhere
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(lake_catalog.ensure_table(cat, identifier), lake_catalog.to_arrow(identifier, []),
                            offsets={("feedback.crm", 0): 41})
    assert resume_offsets(cat) == {("feedback.crm", 0): 42}
    # the first run's start was recorded: ingestion moving on does not move the alert job's start
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(cat.load_table(identifier), lake_catalog.to_arrow(identifier, []),
                            offsets={("feedback.crm", 0): 90, ("feedback.app", 0): 5})
    assert resume_offsets(cat) == {("feedback.crm", 0): 42}


def test_a_happy_message_never_alerts_even_on_an_elected_reason(settings) -> None:
    lookup = Lookup({"v7/3": features()})
    engine = AlertEngine(Model(), lookup, OffsetBatchSink(lake_catalog.load(settings), {ALERTS: None}))
    happy = message("the app update is great, no crash at all, love it", 0).envelope
    angry = message("the app crashed again, terrible", 1).envelope
    assert engine.process(happy, NOW) == [] and len(engine.process(angry, NOW)) == 1
    assert engine.sink.counts == {"satisfied": 1, "alerts": 1}
    assert lookup.asked == [["v7/3"]]          # the happy one was not even classified
