"""The message contract: every reason code, and what a valid message keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flink.contract import (
    Accepted,
    ContractLimits,
    KafkaEnvelope,
    Reason,
    Rejected,
    envelope_line,
    parse_envelope,
    source_of_topic,
    topic_of_source,
    validate,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def body(**overrides) -> dict:
    base = {
        "message_id": "m-1",
        "source": "crm",
        "text": "The app keeps crashing",
        "created_at": "2026-03-09T08:30:00Z",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def env(value, topic: str = "feedback.crm", offset: int = 7) -> KafkaEnvelope:
    if isinstance(value, dict):
        value = json.dumps(value).encode()
    return KafkaEnvelope(topic=topic, partition=2, offset=offset, timestamp_ms=1_773_000_000_000, value=value)


# (case id, envelope, limits, expected reason)
CASES = [
    ("tombstone", env(None), ContractLimits(), Reason.NULL_VALUE),
    ("too-large", env(body(text="x" * 200)), ContractLimits(max_record_bytes=100), Reason.RECORD_TOO_LARGE),
    ("latin1", env(b"\xff\xfe caf\xe9"), ContractLimits(), Reason.NOT_UTF8),
    ("not-json", env(b"hello there"), ContractLimits(), Reason.NOT_JSON),
    ("json-list", env(b"[1, 2]"), ContractLimits(), Reason.NOT_OBJECT),
    ("json-string", env(b'"text"'), ContractLimits(), Reason.NOT_OBJECT),
    ("no-text", env(body(text=...)), ContractLimits(), Reason.MISSING_FIELD),
    ("null-id", env(body(message_id=None)), ContractLimits(), Reason.MISSING_FIELD),
    ("blank-id", env(body(message_id="  ")), ContractLimits(), Reason.MISSING_FIELD),
    ("int-text", env(body(text=5)), ContractLimits(), Reason.WRONG_TYPE),
    ("user-string", env(body(user="bob")), ContractLimits(), Reason.WRONG_TYPE),
    ("user-id-list", env(body(user={"id": [1]})), ContractLimits(), Reason.WRONG_TYPE),
    ("tags-ints", env(body(tags=[1, 2])), ContractLimits(), Reason.WRONG_TYPE),
    ("rating-string", env(body(rating="5")), ContractLimits(), Reason.WRONG_TYPE),
    ("rating-bool", env(body(rating=True)), ContractLimits(), Reason.WRONG_TYPE),
    ("rating-fraction", env(body(rating=4.5)), ContractLimits(), Reason.WRONG_TYPE),
    ("blank-text", env(body(text=" \n\t")), ContractLimits(), Reason.EMPTY_TEXT),
    ("long-text", env(body(text="abcdef")), ContractLimits(max_text_chars=5), Reason.TEXT_TOO_LONG),
    ("words-date", env(body(created_at="yesterday")), ContractLimits(), Reason.BAD_TIMESTAMP),
    ("naive-date", env(body(created_at="2026-03-09T08:30:00")), ContractLimits(), Reason.BAD_TIMESTAMP),
    ("future", env(body(created_at="2026-03-12T12:00:00Z")), ContractLimits(), Reason.TIMESTAMP_OUT_OF_RANGE),
    (
        "ancient",
        env(body(created_at="2001-01-01T00:00:00+00:00")),
        ContractLimits(max_age=timedelta(days=365)),
        Reason.TIMESTAMP_OUT_OF_RANGE,
    ),
    ("foreign-topic", env(body(), topic="orders"), ContractLimits(), Reason.UNKNOWN_SOURCE),
    ("alerts-topic", env(body(source="alerts"), topic="feedback.alerts"), ContractLimits(), Reason.UNKNOWN_SOURCE),
    ("bad-source-name", env(body(source="Bad!"), topic="feedback.Bad!"), ContractLimits(), Reason.UNKNOWN_SOURCE),
    ("not-allowed", env(body()), ContractLimits(allowed_sources=("app",)), Reason.UNKNOWN_SOURCE),
    ("mismatch", env(body(source="app")), ContractLimits(), Reason.SOURCE_MISMATCH),
    ("rating-6", env(body(rating=6)), ContractLimits(), Reason.BAD_RATING),
    ("rating-0", env(body(rating=0)), ContractLimits(), Reason.BAD_RATING),
    # a value of the wrong type reaches the validator's guard instead of crashing the job
    ("str-value", KafkaEnvelope("feedback.crm", 0, 1, 0, "not bytes"), ContractLimits(), Reason.BAD_ENVELOPE),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("envelope,limits,reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejects_with_reason(envelope: KafkaEnvelope, limits: ContractLimits, reason: Reason) -> None:
    out = validate(envelope, NOW, limits)
    assert isinstance(out, Rejected), out
    assert out.reason is reason, out.detail
    assert out.detail
    row = out.row(rejected_at=NOW)
    assert row["raw_value"] == envelope.value and row["reason"] == reason.value
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == (
        envelope.topic,
        envelope.partition,
        envelope.offset,
    )


def test_every_reason_code_has_a_case() -> None:
    assert {c[3] for c in CASES} == set(Reason)


def test_rejected_keeps_message_id_and_source_when_readable() -> None:
    out = validate(env(body(source="app")), NOW)
    assert isinstance(out, Rejected)
    assert (out.message_id, out.source) == ("m-1", "crm")


def test_valid_message_keeps_every_field() -> None:
    out = validate(
        env(
            body(
                user={"id": 42, "segment": "pro", "country": "NL", "plan": "gold"},
                tags=["ios", "v2"],
                rating=2.0,
                channel="email",
                nested={"a": [1, 2]},
                created_at="2026-03-09T10:30:00+02:00",
            )
        ),
        NOW,
    )
    assert isinstance(out, Accepted)
    row = out.row
    assert row["message_id"] == "m-1" and row["source"] == "crm" and row["text"] == "The app keeps crashing"
    assert row["created_at"] == datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
    assert (row["user_id"], row["user_segment"], row["user_country"]) == ("42", "pro", "NL")
    assert row["tags"] == ["ios", "v2"] and row["rating"] == 2 and isinstance(row["rating"], int)
    assert json.loads(row["attributes"]) == {"channel": "email", "nested": {"a": [1, 2]}, "user": {"plan": "gold"}}
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("feedback.crm", 2, 7)
    assert row["kafka_timestamp"] == datetime.fromtimestamp(1_773_000_000, tz=UTC)


def test_minimal_valid_message_has_no_optional_fields() -> None:
    out = validate(env(body()), NOW)
    assert isinstance(out, Accepted)
    assert out.row["attributes"] is None and out.row["tags"] is None and out.row["rating"] is None
    assert out.row["user_id"] is None


def test_envelope_round_trip_keeps_raw_bytes() -> None:
    for value in (b"\x00\xff binary", None, b'{"a": 1}', b"", b"line\nbreak\ttab"):
        e = KafkaEnvelope("feedback.app", 3, 99, 1234, value)
        line = envelope_line(e)
        assert "\n" not in line and line.isascii()  # one line per record in a commit batch
        assert parse_envelope(line) == e


def test_unreadable_envelopes_raise_value_error() -> None:
    for bad in (
        "",
        '{"t": "feedback.crm", "p": 0}',
        "feedback.crm\t1\t2\t3",
        "feedback.crm\tx\t2\t3\t-",
        "feedback.crm\t1\t2\t3\tAAA\textra",
    ):
        with pytest.raises(ValueError):
            parse_envelope(bad)


def test_topic_names() -> None:
    assert source_of_topic("feedback.crm") == "crm"
    assert source_of_topic("feedback.alerts") is None and source_of_topic("crm") is None
    assert source_of_topic("feedback.ops") is None  # the pipeline's own topics are never feedback


def test_the_jobs_subscribe_to_feedback_topics_not_to_the_pipelines_own() -> None:
    import re

    from flink.jobconfig import FEEDBACK_TOPIC_PATTERN
    from lake.settings import PIPELINE_TOPICS

    pattern = re.compile(FEEDBACK_TOPIC_PATTERN)
    assert all(pattern.fullmatch(t) for t in ("feedback.crm", "feedback.ops_portal", "feedback.alerts2"))
    assert not any(pattern.fullmatch(t) for t in PIPELINE_TOPICS)
    assert topic_of_source("app_store") == "feedback.app_store"
    with pytest.raises(ValueError):
        topic_of_source("App Store")
