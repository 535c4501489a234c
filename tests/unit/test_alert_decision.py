"""The alert job's plain side: the decision, the alert id, the lines the hygiene operators read, and a
micro-batch through the engine (hot reload between batches, stale elections, counts)."""

from __future__ import annotations

import json
from datetime import timedelta

from flink.alerting import (
    AlertEngine,
    alert_id,
    alert_json,
    candidate_line,
    decide,
    decide_stale,
    message_key,
    parse_accounting,
    row_of,
)
from flink.contract import KafkaEnvelope
from lake import catalog as lake_catalog
from reasons.live import LiveReasons, LiveWatcher
from tests.support.alert_doubles import NOW, RULE, TINY, EmbeddingModel, Lookup, Promotions, election, envelope, message


def verdict(text: str = "the app crash again, awful", at=NOW, **kwargs):
    live = LiveReasons(model=EmbeddingModel(), path=None, election=election(**kwargs), dissatisfaction=TINY)  # type: ignore[arg-type]
    return live.classify([text], [None], RULE, at)[0]


def test_an_elected_reason_of_the_live_model_alerts() -> None:
    row = decide(message(), verdict(), NOW)
    assert row is not None
    assert (row["topic_id"], row["reason_id"], row["label"], row["week"], row["model_version"]) == (
        3,
        "v7/3",
        "app crashes",
        "2026-W10",
        "v7",
    )
    assert (row["message_id"], row["source"], row["similarity"]) == ("m11", "crm", 0.8)
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("feedback.crm", 1, 11)
    assert row["alerted_at"] == NOW and row["alert_id"] == alert_id("v7", "feedback.crm", 1, 11)
    lake_catalog.to_arrow("alerts.alerts", [row])  # fits the table contract


def test_no_alert_for_outliers_candidates_satisfied_or_stale() -> None:
    assert decide(message("nothing to see"), verdict("no idea what this is, awful"), NOW) is None  # outlier
    assert decide(message(), verdict("prices are awful and too high"), NOW) is None  # not elected
    assert decide(message(), verdict("great app, love it"), NOW) is None  # satisfied
    assert decide(message(), verdict(at=NOW + timedelta(days=30)), NOW) is None  # stale election
    # ... on record as stale only where it would have alerted
    assert decide_stale(message(), verdict(at=NOW + timedelta(days=30)), NOW) is not None
    assert decide_stale(message(), verdict(), NOW) is None  # not stale: an alert
    assert decide_stale(message(), verdict("great app, love it", at=NOW + timedelta(days=30)), NOW) is None


def test_no_alert_on_the_fringe_of_a_topic() -> None:
    class Strict(EmbeddingModel):
        def alert_similarity(self, topic_id: int) -> float:
            return 0.9  # the doubles assign at 0.8: every message is on the fringe

    live = LiveReasons(model=Strict(), path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    [fringe] = live.classify(["the app crash again, awful"], [None], RULE, NOW)
    assert fringe.elected and fringe.dissatisfied and not fringe.core and not fringe.alerts
    assert decide(message(), fringe, NOW) is None and verdict().alerts


def test_alert_id_is_stable_and_positional() -> None:
    ids = {
        alert_id(*k)
        for k in (
            ("v7", "feedback.crm", 1, 11),
            ("v8", "feedback.crm", 1, 11),
            ("v7", "feedback.crm", 1, 12),
            ("v7", "feedback.crm", 2, 11),
        )
    }
    assert len(ids) == 4 and alert_id("v7", "feedback.crm", 1, 11) in ids


def test_candidate_lines_round_trip_for_the_hygiene_operators() -> None:
    row = decide(message(), verdict(), NOW)
    line = candidate_line(row)
    key, reason_id, reason, payload = line.split("\t")
    assert key == message_key("crm", "m11") and reason_id == "v7/3"
    assert json.loads(reason) == {
        "reason_id": "v7/3",
        "label": "app crashes",
        "week": "2026-W10",
        "model_version": "v7",
    }
    out = json.loads(payload)
    assert out["kind"] == "alert" and out["alerted_at"] == NOW.isoformat() and out == json.loads(alert_json(row))
    assert row_of(out) == row
    assert message_key("crm", "a\tb") != message_key("crm", "a b") and "\t" not in message_key("crm", "a\tb")


def test_a_micro_batch_is_judged_with_one_live_pair_and_reloads_between_batches() -> None:
    promotions, lookup, said = Promotions(EmbeddingModel("v7")), Lookup(election("v7")), []
    clock = [0.0]
    watcher = LiveWatcher(
        promotions.pointer,
        promotions.load,
        lookup,
        poll_s=1.0,
        clock=lambda: clock[0],
        say=said.append,
        dissatisfaction=TINY,
    )
    engine = AlertEngine(watcher, rule=RULE, say=said.append)
    batch = [
        envelope("the app crash again, awful", 0),
        envelope("prices are awful, too high", 1),
        envelope("great app, love it", 2),
        KafkaEnvelope("feedback.crm", 1, 3, 0, b"not json"),
        envelope("crash on login, terrible", 4),
        envelope("crash number 1432, awful", 5),  # P(dissatisfied) 0.65: counted, too close a call to alert
    ]
    lines = engine.process_batch(batch, NOW)
    assert [json.loads(line.split("\t")[3])["model_version"] for line in lines] == ["v7", "v7"]
    assert {k: engine.counts[k] for k in ("candidates", "no_alert", "satisfied", "unsure", "invalid")} == {
        "candidates": 2,
        "no_alert": 1,
        "satisfied": 1,
        "unsure": 1,
        "invalid": 1,
    }

    promotions.promote(EmbeddingModel("v8", "2026-W11"))
    lookup.features.update(election("v8", "2026-W11"))
    clock[0] = 2.0
    lines = engine.process_batch([envelope("the app crash again, awful", 5)], NOW)
    alert = json.loads(lines[0].split("\t")[3])
    assert (alert["model_version"], alert["reason_id"], alert["week"]) == ("v8", "v8/3", "2026-W11")
    assert engine.counts["reloads"] == 1 and any("reloaded: v7" in s for s in said)

    # a stale election sends nothing; the match goes on record as stale, past the hygiene operators
    [line] = engine.process_batch([envelope("the app crash again, awful", 6)], NOW + timedelta(days=30))
    assert line.startswith("stale\t")  # what AlertDeduplicator.STALE passes through
    outcome, payload = parse_accounting(line)
    assert (outcome, payload["reason_id"], payload["kafka_offset"]) == ("stale", "v8/3", 6)
    assert engine.counts["stale"] == 1 and any("is stale since" in s for s in said)


def test_alerts_carry_redacted_text_only() -> None:
    """A message with an e-mail address, a phone and a card number alerts with placeholders; the
    original values appear in no candidate line (alerts.alerts and feedback.alerts are made of them)."""
    watcher = LiveWatcher(
        Promotions(EmbeddingModel("v7")).pointer,
        Promotions(EmbeddingModel("v7")).load,
        Lookup(election("v7")),
        poll_s=1.0,
        dissatisfaction=TINY,
    )
    engine = AlertEngine(watcher, rule=RULE, say=lambda _: None)
    text = "the app crash again, awful. ana.smith@example.com +44 20 7946 0958 card 4111 1111 1111 1111"
    lines = engine.process_batch([envelope(text, 0)], NOW)
    assert len(lines) == 1
    alert = json.loads(lines[0].split("\t")[3])
    assert alert["text"] == "the app crash again, awful. <EMAIL> <PHONE> card <CARD>"
    assert not any(v in lines[0] for v in ("ana.smith@example.com", "7946 0958", "4111 1111 1111 1111"))
