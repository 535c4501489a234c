"""The message contract: one Kafka record in, one ``raw.feedback`` row or one
``raw.feedback_rejected`` row out. Pure functions; no Flink, no I/O.

A record is valid when its value is a UTF-8 JSON object with ``message_id`` (non-empty string),
``source`` (string, equal to the topic's ``<source>``), ``text`` (non-empty string within the
length limit) and ``created_at`` (ISO-8601 with a UTC offset, inside the plausibility window).
Optional: ``user`` (object: ``id``, ``segment``, ``country``), ``tags`` (list of strings),
``rating`` (integer 1-5). Every other field is kept in ``attributes`` (JSON).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from lake.settings import PIPELINE_TOPICS, TOPIC_PREFIX

_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")
REQUIRED_FIELDS = ("message_id", "source", "text", "created_at")
USER_FIELDS = ("id", "segment", "country")


class Reason(str, Enum):
    """Stable reason codes of ``raw.feedback_rejected.reason``."""

    NULL_VALUE = "null_value"  # tombstone / record without a value
    RECORD_TOO_LARGE = "record_too_large"  # value over max_record_bytes
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"  # valid JSON but not an object
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    BAD_TIMESTAMP = "bad_timestamp"  # created_at unparsable or without offset
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    UNKNOWN_SOURCE = "unknown_source"  # topic is not feedback.<source> / not allowed
    SOURCE_MISMATCH = "source_mismatch"  # body's source differs from the topic's
    BAD_RATING = "bad_rating"
    BAD_ENVELOPE = "bad_envelope"  # the Kafka envelope itself was unreadable


@dataclass(frozen=True)
class ContractLimits:
    max_text_chars: int = 20_000
    max_record_bytes: int = 1_000_000
    # created_at must lie within [now - max_age, now + max_future]
    max_age: timedelta = timedelta(days=3650)
    max_future: timedelta = timedelta(days=1)
    allowed_sources: tuple[str, ...] = ()  # empty: any well-formed feedback.<source>


@dataclass(frozen=True)
class KafkaEnvelope:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None

    @property
    def kafka_timestamp(self) -> datetime:
        ms = self.timestamp_ms if self.timestamp_ms and self.timestamp_ms > 0 else 0
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    def provenance(self) -> dict[str, Any]:
        return {
            "kafka_topic": self.topic,
            "kafka_partition": self.partition,
            "kafka_offset": self.offset,
            "kafka_timestamp": self.kafka_timestamp,
        }


@dataclass(frozen=True)
class Accepted:
    envelope: KafkaEnvelope
    row: Mapping[str, Any]  # a raw.feedback row without ingested_at


@dataclass(frozen=True)
class Rejected:
    envelope: KafkaEnvelope
    reason: Reason
    detail: str
    message_id: str | None = None
    source: str | None = None

    def row(self, rejected_at: datetime) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "detail": self.detail,
            "raw_value": self.envelope.value,
            "message_id": self.message_id,
            "source": self.source,
            **self.envelope.provenance(),
            "rejected_at": rejected_at,
        }


Outcome = Accepted | Rejected


def parse_envelope(line: str) -> KafkaEnvelope:
    """Decode the envelope line written by ``KafkaEnvelopeDeserializationSchema`` (Java):
    ``topic \\t partition \\t offset \\t timestamp \\t base64 value`` (``-``: null value).

    Raises ValueError on anything else."""
    topic, partition, offset, timestamp, value = line.split("\t")
    return KafkaEnvelope(
        topic=topic,
        partition=int(partition),
        offset=int(offset),
        timestamp_ms=int(timestamp),
        value=None if value == "-" else base64.b64decode(value),
    )


def envelope_line(envelope: KafkaEnvelope) -> str:
    """Inverse of :func:`parse_envelope` (tests and tools)."""
    value = "-" if envelope.value is None else base64.b64encode(envelope.value).decode()
    return "\t".join((envelope.topic, str(envelope.partition), str(envelope.offset), str(envelope.timestamp_ms), value))


def source_of_topic(topic: str) -> str | None:
    if not topic.startswith(TOPIC_PREFIX) or topic in PIPELINE_TOPICS:
        return None
    source = topic[len(TOPIC_PREFIX) :]
    return source if _SOURCE_RE.match(source) else None


def topic_of_source(source: str) -> str:
    if not _SOURCE_RE.match(source):
        raise ValueError(f"invalid source name {source!r}: use lowercase letters, digits, '_' or '-'")
    return f"{TOPIC_PREFIX}{source}"


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 with an explicit offset ('Z' accepted), as an aware UTC datetime."""
    ts = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if ts.tzinfo is None:
        raise ValueError("no UTC offset")
    try:
        return ts.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's end
        raise ValueError("outside the calendar in UTC") from None


def validate(envelope: KafkaEnvelope, now: datetime, limits: ContractLimits = ContractLimits()) -> Outcome:
    """Classify one record. Never raises for any input."""
    try:
        return _validate(envelope, now, limits)
    except Exception as exc:  # a contract bug must not crash the job: route it with its reason
        return Rejected(envelope, Reason.BAD_ENVELOPE, f"validator error: {type(exc).__name__}: {exc}")


class _Invalid(Exception):
    """Raised inside the checks below; :func:`_validate` turns it into a :class:`Rejected`."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _validate(env: KafkaEnvelope, now: datetime, limits: ContractLimits) -> Outcome:
    topic_source = source_of_topic(env.topic)
    if topic_source is None or (limits.allowed_sources and topic_source not in limits.allowed_sources):
        return Rejected(env, Reason.UNKNOWN_SOURCE, f"topic {env.topic!r} is not an accepted feedback.<source> topic")
    try:
        obj = _json_object(env.value, limits)
    except _Invalid as bad:
        return Rejected(env, bad.reason, bad.detail, source=topic_source)
    raw_id = obj.get("message_id")
    try:
        text, created_at = _required(obj, topic_source, env.topic, now, limits)
        user, tags, rating = _optional(obj)
    except _Invalid as bad:
        return Rejected(
            env, bad.reason, bad.detail, message_id=raw_id if isinstance(raw_id, str) else None, source=topic_source
        )
    known = set(REQUIRED_FIELDS) | {"user", "tags", "rating"}
    extra = {k: v for k, v in obj.items() if k not in known}
    extra_user = {k: v for k, v in user.items() if k not in USER_FIELDS}
    if extra_user:
        extra["user"] = extra_user
    row = {
        "message_id": obj["message_id"],
        "source": topic_source,
        "text": text,
        "created_at": created_at,
        "user_id": _str(user.get("id")),
        "user_segment": _str(user.get("segment")),
        "user_country": _str(user.get("country")),
        "tags": tags,
        "rating": rating,
        "attributes": json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else None,
        **env.provenance(),
    }
    return Accepted(env, row)


def _json_object(value: bytes | None, limits: ContractLimits) -> dict:
    """The record's value as a JSON object (null, size, UTF-8, JSON and object checks)."""
    if value is None:
        raise _Invalid(Reason.NULL_VALUE, "record has no value")
    if len(value) > limits.max_record_bytes:
        raise _Invalid(Reason.RECORD_TOO_LARGE, f"{len(value)} bytes > max_record_bytes={limits.max_record_bytes}")
    try:
        body = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid(Reason.NOT_UTF8, f"value is not UTF-8: {exc}") from None
    try:
        obj = json.loads(body)
    except ValueError as exc:
        raise _Invalid(Reason.NOT_JSON, f"value is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Invalid(Reason.NOT_OBJECT, f"JSON value is a {type(obj).__name__}, not an object")
    return obj


def _required(obj: dict, topic_source: str, topic: str, now: datetime, limits: ContractLimits) -> tuple[str, datetime]:
    """The required fields checked; returns the text and ``created_at``."""
    missing = [f for f in REQUIRED_FIELDS if obj.get(f) is None]
    if missing:
        raise _Invalid(Reason.MISSING_FIELD, f"missing required field(s): {', '.join(missing)}")
    for name in REQUIRED_FIELDS:
        if not isinstance(obj[name], str):
            raise _Invalid(Reason.WRONG_TYPE, f"{name} must be a string, got {type(obj[name]).__name__}")
    if not obj["message_id"].strip():
        raise _Invalid(Reason.MISSING_FIELD, "message_id is empty")
    if obj["source"] != topic_source:
        raise _Invalid(Reason.SOURCE_MISMATCH, f"source {obj['source']!r} differs from topic {topic!r}")
    text = obj["text"]
    if not text.strip():
        raise _Invalid(Reason.EMPTY_TEXT, "text is empty or whitespace")
    if len(text) > limits.max_text_chars:
        raise _Invalid(
            Reason.TEXT_TOO_LONG, f"text has {len(text)} characters > max_text_chars={limits.max_text_chars}"
        )
    try:
        created_at = parse_timestamp(obj["created_at"])
    except ValueError as exc:
        raise _Invalid(
            Reason.BAD_TIMESTAMP, f"created_at {obj['created_at']!r} is not ISO-8601 with offset: {exc}"
        ) from None
    if not (now - limits.max_age <= created_at <= now + limits.max_future):
        raise _Invalid(
            Reason.TIMESTAMP_OUT_OF_RANGE,
            f"created_at {created_at.isoformat()} outside [now-{limits.max_age.days}d, now+{limits.max_future}]",
        )
    return text, created_at


def _optional(obj: dict) -> tuple[dict, list[str] | None, int | None]:
    """``user`` (object), ``tags`` (list of strings) and ``rating`` (integer 1-5) checked."""
    user = obj.get("user")
    if user is not None and not isinstance(user, dict):
        raise _Invalid(Reason.WRONG_TYPE, f"user must be an object, got {type(user).__name__}")
    user = user or {}
    for key in USER_FIELDS:
        if user.get(key) is not None and not isinstance(user[key], (str, int)):
            raise _Invalid(Reason.WRONG_TYPE, f"user.{key} must be a string")
    tags = obj.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise _Invalid(Reason.WRONG_TYPE, "tags must be a list of strings")
    rating = obj.get("rating")
    if rating is not None:
        if (
            isinstance(rating, bool)
            or not isinstance(rating, (int, float))
            or not math.isfinite(rating)
            or int(rating) != rating
        ):
            raise _Invalid(Reason.WRONG_TYPE, f"rating must be an integer, got {rating!r}")
        if not 1 <= rating <= 5:
            raise _Invalid(Reason.BAD_RATING, f"rating {rating} outside 1-5")
        rating = int(rating)
    return user, tags, rating


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
