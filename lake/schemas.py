"""The table contract: every Iceberg table's schema and partition spec, in one place.

Field ids are stable forever (Iceberg tracks columns by id); add new fields with new ids at the
end, never renumber. ``TABLES`` maps ``"namespace.table"`` to its :class:`TableSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DoubleType,
    FloatType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)


@dataclass(frozen=True)
class TableSpec:
    identifier: str
    schema: Schema
    partition_spec: PartitionSpec
    doc: str

    @property
    def namespace(self) -> str:
        return self.identifier.split(".", 1)[0]

    @property
    def arrow_schema(self) -> pa.Schema:
        return schema_to_pyarrow(self.schema, include_field_ids=False)


def _day(source_id: int, name: str) -> PartitionSpec:
    return PartitionSpec(PartitionField(source_id=source_id, field_id=1000, transform=DayTransform(), name=name))


def _identity(source_id: int, name: str) -> PartitionSpec:
    return PartitionSpec(PartitionField(source_id=source_id, field_id=1000, transform=IdentityTransform(), name=name))


# Kafka provenance columns shared by every table fed from a topic.
_KAFKA_FIELDS = (
    ("kafka_topic", StringType()),
    ("kafka_partition", IntegerType()),
    ("kafka_offset", LongType()),
    ("kafka_timestamp", TimestamptzType()),
)

RAW_FEEDBACK = TableSpec(
    identifier="raw.feedback",
    schema=Schema(
        NestedField(1, "message_id", StringType(), required=True, doc="unique within a source"),
        NestedField(2, "source", StringType(), required=True, doc="platform, e.g. crm"),
        NestedField(3, "text", StringType(), required=True, doc="raw feedback text"),
        NestedField(4, "created_at", TimestamptzType(), required=True, doc="when the customer wrote it (UTC)"),
        NestedField(5, "user_id", StringType(), required=False),
        NestedField(6, "user_segment", StringType(), required=False),
        NestedField(7, "user_country", StringType(), required=False),
        NestedField(
            8, "tags", ListType(element_id=100, element_type=StringType(), element_required=False), required=False
        ),
        NestedField(9, "rating", IntegerType(), required=False, doc="1-5 where the platform has one"),
        NestedField(10, "attributes", StringType(), required=False, doc="JSON of every other field, kept not dropped"),
        *(NestedField(11 + i, name, typ, required=True) for i, (name, typ) in enumerate(_KAFKA_FIELDS)),
        NestedField(15, "ingested_at", TimestamptzType(), required=True),
    ),
    partition_spec=_day(4, "created_at_day"),
    doc="Every valid message from the feedback.<source> topics, append-only, with Kafka provenance.",
)

RAW_FEEDBACK_REJECTED = TableSpec(
    identifier="raw.feedback_rejected",
    schema=Schema(
        NestedField(1, "reason", StringType(), required=True, doc="stable reason code, see flink.contract.Reason"),
        NestedField(2, "detail", StringType(), required=True, doc="human-readable explanation"),
        NestedField(3, "raw_value", BinaryType(), required=False, doc="the record's bytes, untouched"),
        NestedField(4, "message_id", StringType(), required=False, doc="when it could be read"),
        NestedField(5, "source", StringType(), required=False, doc="from the topic name"),
        *(NestedField(6 + i, name, typ, required=True) for i, (name, typ) in enumerate(_KAFKA_FIELDS)),
        NestedField(10, "rejected_at", TimestamptzType(), required=True),
    ),
    partition_spec=_day(10, "rejected_at_day"),
    doc="Every invalid record with its reason code and raw bytes: nothing is dropped silently.",
)

ML_TOPICS = TableSpec(
    identifier="ml.topics",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True, doc="ISO week, YYYY-Www"),
        NestedField(2, "model_version", StringType(), required=True),
        NestedField(3, "topic_id", IntegerType(), required=True, doc="-1 is the outlier topic"),
        NestedField(4, "reason_id", StringType(), required=True),
        NestedField(5, "label", StringType(), required=True),
        NestedField(
            6, "keywords", ListType(element_id=100, element_type=StringType(), element_required=False), required=False
        ),
        NestedField(7, "size", LongType(), required=True, doc="messages of the week in this topic"),
        NestedField(8, "fitted_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="The topics of each weekly model with their labels and keywords.",
)

ML_MESSAGE_TOPICS = TableSpec(
    identifier="ml.message_topics",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True),
        NestedField(2, "message_id", StringType(), required=True),
        NestedField(3, "source", StringType(), required=True),
        NestedField(4, "topic_id", IntegerType(), required=True),
        NestedField(5, "reason_id", StringType(), required=True),
        NestedField(6, "similarity", DoubleType(), required=False, doc="cosine to the topic embedding"),
        NestedField(7, "rating", IntegerType(), required=False),
        NestedField(8, "sentiment", DoubleType(), required=True, doc="VADER compound, -1..1"),
        NestedField(9, "dissatisfied", BooleanType(), required=True),
        NestedField(10, "model_version", StringType(), required=True),
        NestedField(11, "created_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="The topic of every cleaned message of a week, with its dissatisfaction signal.",
)

ML_EMBEDDINGS = TableSpec(
    identifier="ml.embeddings",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True, doc="ISO week of created_at"),
        NestedField(2, "source", StringType(), required=True),
        NestedField(3, "message_id", StringType(), required=True),
        NestedField(4, "embedding_model", StringType(), required=True, doc="name/version of the embedding model"),
        NestedField(5, "text_sha256", StringType(), required=True, doc="hex SHA-256 of the embedded text"),
        NestedField(
            6,
            "embedding",
            ListType(element_id=100, element_type=FloatType(), element_required=False),
            required=True,
            doc="unit-norm embedding of the text",
        ),
        NestedField(7, "embedded_at", TimestamptzType(), required=True),
    ),
    partition_spec=PartitionSpec(
        PartitionField(source_id=1, field_id=1000, transform=IdentityTransform(), name="week"),
        PartitionField(source_id=4, field_id=1001, transform=IdentityTransform(), name="embedding_model"),
    ),
    doc="Each message's embedding, computed once per (source, message_id, embedding_model, text_sha256).",
)

ML_EMBEDDING_INPUTS = TableSpec(
    identifier="ml.embedding_inputs",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True, doc="ISO week being embedded, YYYY-Www"),
        NestedField(2, "source", StringType(), required=True),
        NestedField(3, "message_id", StringType(), required=True),
        NestedField(4, "text", StringType(), required=True, doc="the cleaned text to embed"),
        NestedField(5, "created_at", TimestamptzType(), required=True),
        NestedField(6, "staged_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="Staging of the batch embedding job: the week's cleaned messages not yet in ml.embeddings when staged "
    "(replaced per week, written in several files: each file is one task of the PyFlink job).",
)

ML_ELECTIONS = TableSpec(
    identifier="ml.elections",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True),
        NestedField(2, "topic_id", IntegerType(), required=True),
        NestedField(3, "reason_id", StringType(), required=True),
        NestedField(4, "label", StringType(), required=True),
        NestedField(5, "rank", IntegerType(), required=True, doc="1 = most dissatisfied messages"),
        NestedField(6, "message_count", LongType(), required=True, doc="dissatisfied messages in the topic"),
        NestedField(7, "share", DoubleType(), required=True, doc="of the week's dissatisfied messages"),
        NestedField(8, "elected", BooleanType(), required=True),
        NestedField(9, "why", StringType(), required=True),
        NestedField(10, "model_version", StringType(), required=True),
        NestedField(11, "elected_at", TimestamptzType(), required=True),
        NestedField(12, "policy_version", StringType(), required=False, doc="ElectionPolicy.policy_version"),
        NestedField(13, "score", DoubleType(), required=False, doc="dissatisfied messages weighted by source"),
        NestedField(14, "previous_count", LongType(), required=False, doc="the reason's count last week"),
        NestedField(15, "count_change", LongType(), required=False, doc="message_count - previous_count"),
        NestedField(16, "sources", StringType(), required=False, doc="JSON {source: dissatisfied messages}"),
        NestedField(
            17,
            "example_message_ids",
            ListType(element_id=100, element_type=StringType(), element_required=False),
            required=False,
        ),
        NestedField(
            18, "snapshot_ids", StringType(), required=False, doc="JSON {table: Iceberg snapshot id} the election read"
        ),
    ),
    partition_spec=_identity(1, "week"),
    doc="Every candidate reason of a week, ranked, with the elected ones flagged and why.",
)

ML_REASONS = TableSpec(
    identifier="ml.reasons",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True, doc="the registry as it stood after this week"),
        NestedField(2, "reason_id", StringType(), required=True, doc="stable across weekly refits"),
        NestedField(3, "label", StringType(), required=True, doc="analyst override or the latest topic label"),
        NestedField(
            4,
            "embedding",
            ListType(element_id=100, element_type=DoubleType(), element_required=False),
            required=True,
            doc="unit topic embedding the next week matches against",
        ),
        NestedField(5, "born_week", StringType(), required=True),
        NestedField(6, "last_seen_week", StringType(), required=True),
        NestedField(
            7, "status", StringType(), required=True, doc="alive, dead, merged or not_a_reason (an analyst's edit)"
        ),
        NestedField(8, "size", LongType(), required=True, doc="messages the last week it was seen"),
        NestedField(9, "updated_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="The reason registry: one full snapshot per week (the latest week is the current registry).",
)

ML_REASON_MAPPINGS = TableSpec(
    identifier="ml.reason_mappings",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True),
        NestedField(2, "model_version", StringType(), required=True),
        NestedField(3, "topic_id", IntegerType(), required=True),
        NestedField(4, "reason_id", StringType(), required=True),
        NestedField(5, "similarity", DoubleType(), required=True, doc="cosine of topic to reason (1.0 when born)"),
        NestedField(6, "match", StringType(), required=True, doc="matched or born"),
        NestedField(7, "mapped_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="(week, model_version, topic_id) -> reason_id of every weekly model.",
)

ML_REASON_EVENTS = TableSpec(
    identifier="ml.reason_events",
    schema=Schema(
        NestedField(1, "week", StringType(), required=True),
        NestedField(2, "model_version", StringType(), required=True),
        NestedField(3, "event", StringType(), required=True, doc="born, matched, died, merged or split"),
        NestedField(
            4, "reason_ids", ListType(element_id=100, element_type=StringType(), element_required=False), required=True
        ),
        NestedField(5, "detail", StringType(), required=True),
        NestedField(6, "recorded_at", TimestamptzType(), required=True),
    ),
    partition_spec=_identity(1, "week"),
    doc="What happened to the reasons each week: births, matches, deaths, merges, splits.",
)

ML_REASON_EDITS = TableSpec(
    identifier="ml.reason_edits",
    schema=Schema(
        NestedField(1, "edit_id", StringType(), required=True),
        NestedField(
            2, "week", StringType(), required=True, doc="the registry's latest week when made: in force from it on"
        ),
        NestedField(3, "action", StringType(), required=True, doc="merge, split, rename or not_a_reason"),
        NestedField(
            4,
            "reason_id",
            StringType(),
            required=True,
            doc="merge: the survivor; split: the reason split; rename, not_a_reason: the reason",
        ),
        NestedField(
            5,
            "other_ids",
            ListType(element_id=100, element_type=StringType(), element_required=False),
            required=False,
            doc="merge: the reasons folded in; split: the new reason's id",
        ),
        NestedField(6, "label", StringType(), required=False, doc="rename: the new label; split: the new reason's"),
        NestedField(
            7,
            "topic_ids",
            ListType(element_id=101, element_type=IntegerType(), element_required=False),
            required=False,
            doc="split: the week's topics that went to the new reason",
        ),
        NestedField(
            8,
            "embedding",
            ListType(element_id=102, element_type=DoubleType(), element_required=False),
            required=False,
            doc="split: the new reason's unit centroid",
        ),
        NestedField(
            9,
            "rest_embedding",
            ListType(element_id=103, element_type=DoubleType(), element_required=False),
            required=False,
            doc="split: the unit centroid of the topics that stay",
        ),
        NestedField(10, "made_by", StringType(), required=True),
        NestedField(11, "made_at", TimestamptzType(), required=True),
        NestedField(12, "why", StringType(), required=True),
    ),
    partition_spec=UNPARTITIONED_PARTITION_SPEC,
    doc="The analyst's edits of the reason registry, append-only (reasonlake reasons; docs/reason_edits.md).",
)

# What happened to each message that matched an elected reason (``alerts.alerts.outcome``; flink/alerting.py)
ALERT_OUTCOMES = ("sent", "digest", "duplicate", "stale")

ALERTS = TableSpec(
    identifier="alerts.alerts",
    schema=Schema(
        NestedField(1, "alert_id", StringType(), required=True),
        # the message's columns are null on digest rows (kind 'digest')
        NestedField(2, "message_id", StringType(), required=False),
        NestedField(3, "source", StringType(), required=False),
        NestedField(4, "topic_id", IntegerType(), required=False),
        NestedField(5, "reason_id", StringType(), required=True),
        NestedField(6, "label", StringType(), required=True),
        NestedField(7, "week", StringType(), required=True, doc="week of the election that matched"),
        NestedField(8, "model_version", StringType(), required=True),
        NestedField(9, "similarity", DoubleType(), required=False),
        NestedField(10, "text", StringType(), required=False),
        *(NestedField(11 + i, name, typ, required=False) for i, (name, typ) in enumerate(_KAFKA_FIELDS)),
        NestedField(15, "alerted_at", TimestamptzType(), required=True, doc="decided at; a digest: its window's end"),
        NestedField(16, "kind", StringType(), required=False, doc="alert (one message) or digest (a window's count)"),
        NestedField(
            17,
            "outcome",
            StringType(),
            required=False,
            doc="an alert: sent (to feedback.alerts), digest (held back by the rate limit, counted in its reason's "
            "digest), duplicate (its message alerted before), stale (the election was past valid_until: nothing "
            "sent); a digest: sent",
        ),
        NestedField(18, "suppressed", IntegerType(), required=False, doc="a digest: the alerts it stands for"),
        NestedField(19, "window_start", TimestamptzType(), required=False, doc="a digest: its window's start"),
    ),
    partition_spec=_day(15, "alerted_at_day"),
    doc="Every message that matched an elected reason, with its outcome, and every digest; feedback.alerts "
    "carries the sent ones (rows before 2026-12-07 hold sent alerts only, kind and outcome null).",
)

TABLES: dict[str, TableSpec] = {
    spec.identifier: spec
    for spec in (
        RAW_FEEDBACK,
        RAW_FEEDBACK_REJECTED,
        ML_TOPICS,
        ML_MESSAGE_TOPICS,
        ML_EMBEDDINGS,
        ML_EMBEDDING_INPUTS,
        ML_ELECTIONS,
        ML_REASONS,
        ML_REASON_MAPPINGS,
        ML_REASON_EVENTS,
        ML_REASON_EDITS,
        ALERTS,
    )
}

__all__ = [
    "ALERTS",
    "ALERT_OUTCOMES",
    "ML_ELECTIONS",
    "ML_EMBEDDINGS",
    "ML_EMBEDDING_INPUTS",
    "ML_MESSAGE_TOPICS",
    "ML_REASONS",
    "ML_REASON_EDITS",
    "ML_REASON_EVENTS",
    "ML_REASON_MAPPINGS",
    "ML_TOPICS",
    "RAW_FEEDBACK",
    "RAW_FEEDBACK_REJECTED",
    "TABLES",
    "UNPARTITIONED_PARTITION_SPEC",
    "TableSpec",
]
