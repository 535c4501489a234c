"""The alert decision and its glue, pure Python (the Flink shell is :class:`flink.operators.AlertFunction`).

For each valid message: classify it with the current topic model, look its reason up in the
Feast online store, and raise an alert when that reason is elected *by the same model version*
(a reason id of another model names another topic). Alerts are rows of ``alerts.alerts`` and
JSON messages on ``feedback.alerts``; ``alert_id`` is derived from the model version and the
record's Kafka position, so replaying a record never invents a new alert id.

Where the alert job starts (:func:`resume_offsets`): after the offsets ``alerts.alerts`` recorded
in earlier runs. On the very first run, after what ingestion already committed to ``raw.feedback``
(those messages were there before alerting existed: they are history, not news); the start
is recorded in ``alerts.alerts`` at once so later runs continue from it. Partitions unknown to
both start at EARLIEST.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from pyiceberg.catalog import Catalog

from flink.contract import Accepted, ContractLimits, KafkaEnvelope, validate
from flink.errors import NoTopicModelError
from flink.sink import INGEST_TABLES, OffsetBatchSink, start_offsets
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.schemas import ALERTS
from reasons.sentiment import DissatisfactionRule, is_dissatisfied, sentiment

ALERT_NAMESPACE = uuid.UUID("6f1d3c2a-6a52-5d4e-9a57-7c1b2e0f4a11")


class Assignment(Protocol):
    topic_id: int  # -1 = outlier
    similarity: float


class TopicModel(Protocol):
    """What the alert job needs of ``reasons.topics.artifact.TopicArtifact``."""

    model_version: str
    week: str

    def assign(self, texts: list[str]) -> Sequence[Assignment]: ...

    def label(self, topic_id: int) -> str: ...

    def reason_id(self, topic_id: int) -> str: ...


class ReasonLookup(Protocol):
    """What the alert job needs of ``feature_repo.online.ReasonLookup``."""

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]: ...


def alert_id(model_version: str, topic: str, partition: int, offset: int) -> str:
    """Stable id of the alert a model raises for one Kafka record."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{model_version}|{topic}|{partition}|{offset}"))


def decide(
    message: Accepted, assignment: Assignment, model: TopicModel, features: Mapping | None, now: datetime
) -> dict | None:
    """The ``alerts.alerts`` row for one classified message, or None when it raises no alert.

    Alert iff the message is not an outlier, its reason is ``elected`` in the online features,
    and those features come from the loaded model's version.
    """
    if assignment.topic_id < 0 or not features or not features.get("elected"):
        return None
    if features.get("model_version") != model.model_version:
        return None
    env = message.envelope
    row = message.row
    return {
        "alert_id": alert_id(model.model_version, env.topic, env.partition, env.offset),
        "message_id": row["message_id"],
        "source": row["source"],
        "topic_id": int(assignment.topic_id),
        "reason_id": model.reason_id(assignment.topic_id),
        "label": str(features.get("label") or model.label(assignment.topic_id)),
        "week": str(features.get("week") or model.week),
        "model_version": model.model_version,
        "similarity": float(assignment.similarity),
        "text": row["text"],
        **env.provenance(),
        "alerted_at": now,
    }


def alert_json(row: Mapping) -> str:
    """The ``feedback.alerts`` message of an alert row (timestamps as ISO-8601)."""
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}, ensure_ascii=False, sort_keys=True
    )


class AlertEngine:
    """validate → dissatisfied? → classify → look up → decide → buffer in the sink; returns the
    alerts to send.

    Invalid messages raise no alert (ingestion records them); they only advance the offsets.
    Alerts are returned again for replayed records (Kafka delivery is at-least-once with stable
    ids) while the sink writes each alert row once.
    """

    def __init__(
        self,
        model: TopicModel,
        lookup: ReasonLookup,
        sink: OffsetBatchSink,
        limits: ContractLimits = ContractLimits(),
        dissatisfaction: DissatisfactionRule = DissatisfactionRule(),
    ) -> None:
        self.model = model
        self.lookup = lookup
        self.sink = sink
        self.limits = limits
        self.dissatisfaction = dissatisfaction

    @classmethod
    def open(cls, config, reporter=None) -> AlertEngine:
        """Load the current model (once), the Feast lookup and the sink for an ``AlertJobConfig``."""
        model = load_model(config)
        model.assign(["warm-up"])  # load the embedder now, not on the first message
        # the lookup caches its answers for ttl_s (feature_repo.online.ReasonLookup)
        lookup = importlib.import_module(config.lookup_module).ReasonLookup(config.settings, ttl_s=config.lookup_ttl_s)
        sink = OffsetBatchSink(lake_catalog.load(config.settings), {ALERTS.identifier: None}, config.batch, reporter)
        return cls(model, lookup, sink, config.limits, config.dissatisfaction)

    def process(self, envelope: KafkaEnvelope, now: datetime) -> list[str]:
        outcome = validate(envelope, now, self.limits)
        if not isinstance(outcome, Accepted):
            self.sink.add(envelope, count="invalid")
            return []
        # Elected reasons are reasons customers are unhappy: a happy message never alerts, even
        # when it talks about the same thing ("delivery was fast" is not a late delivery).
        row = outcome.row
        if not is_dissatisfied(row["rating"], sentiment(row["text"]), self.dissatisfaction):
            self.sink.add(envelope, count="satisfied")
            return []
        [assignment] = self.model.assign([outcome.row["text"]])
        features: Mapping | None = None
        if assignment.topic_id >= 0:
            reason_id = self.model.reason_id(assignment.topic_id)
            features = self.lookup.get([reason_id]).get(reason_id)
        alert = decide(outcome, assignment, self.model, features, now)
        if alert is None:
            self.sink.add(envelope, count="no_alert")
            return []
        self.sink.add(envelope, ALERTS.identifier, alert, count="alerts")
        return [alert_json(alert)]


def model_path(config):
    """Path of the most recently materialized topic model (``config.model_module``); raises if none."""
    path = importlib.import_module(config.model_module).current_artifact_path(config.settings)
    if path is None:
        raise NoTopicModelError("no topic model has been materialized yet: run the weekly topic fit first")
    return path


def load_model(config) -> TopicModel:
    return importlib.import_module(config.model_module).TopicArtifact.load(model_path(config))


def resume_offsets(catalog: Catalog) -> dict[TopicPartition, int]:
    """Where the alert job starts (see the module doc); records the first run's start in the table."""
    alerts = lake_catalog.ensure_table(catalog, ALERTS.identifier)
    if lake_catalog.committed_offsets(alerts):
        return start_offsets(catalog, (ALERTS.identifier,))
    start = start_offsets(catalog, INGEST_TABLES)
    if start:
        lake_catalog.append(
            alerts, lake_catalog.to_arrow(ALERTS.identifier, []), offsets={tp: o - 1 for tp, o in start.items()}
        )
    return start
