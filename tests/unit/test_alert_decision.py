"""The alert decision: which classified message raises an alert, its id and its JSON (pure)."""

from __future__ import annotations

import json

import pytest

from flink.alerting import alert_id, alert_json, decide
from lake import catalog as lake_catalog
from tests.support.alert_doubles import NOW, A, Model, features, message

ALERTS = "alerts.alerts"


def test_elected_reason_of_the_same_model_alerts() -> None:
    row = decide(message(), A(3, 0.77), Model(), features(), NOW)
    assert row is not None
    assert (row["topic_id"], row["reason_id"], row["label"], row["week"], row["model_version"]) == (
        3,
        "v7/3",
        "app crashes",
        "2026-W10",
        "v7",
    )
    assert (row["message_id"], row["source"], row["text"], row["similarity"]) == (
        "m11",
        "crm",
        "the app crash again",
        0.77,
    )
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("feedback.crm", 1, 11)
    assert row["alerted_at"] == NOW and row["alert_id"] == alert_id("v7", "feedback.crm", 1, 11)
    lake_catalog.to_arrow(ALERTS, [row])  # fits the table contract


@pytest.mark.parametrize(
    "assignment,feats",
    [
        (A(-1), features()),  # outlier
        (A(3), None),  # reason unknown online
        (A(3), features(elected=False)),  # candidate, not elected
        (A(3), features(model_version="v6")),  # features of another model's topics
    ],
)
def test_no_alert(assignment: A, feats: dict | None) -> None:
    assert decide(message(), assignment, Model(), feats, NOW) is None


def test_label_falls_back_to_the_model() -> None:
    row = decide(message(), A(3), Model(), features(label=None), NOW)
    assert row is not None and row["label"] == "model label 3"


def test_alert_id_is_stable_and_positional() -> None:
    a = alert_id("v7", "feedback.crm", 1, 11)
    assert a == alert_id("v7", "feedback.crm", 1, 11)
    assert (
        len(
            {
                a,
                alert_id("v8", "feedback.crm", 1, 11),
                alert_id("v7", "feedback.crm", 1, 12),
                alert_id("v7", "feedback.crm", 2, 11),
                alert_id("v7", "feedback.app", 1, 11),
            }
        )
        == 5
    )


def test_alert_json_is_the_row_with_iso_times() -> None:
    row = decide(message(), A(3), Model(), features(), NOW)
    out = json.loads(alert_json(row))
    assert out["alerted_at"] == NOW.isoformat() and out["alert_id"] == row["alert_id"]
    assert set(out) == set(row)
