"""Property-based tests of the message contract (hypothesis): any record gets an outcome with a
reason code, never the validator's own error; every valid message comes out as the row it describes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from flink.contract import Accepted, KafkaEnvelope, Reason, Rejected, validate

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TOPIC = "feedback.crm"


def envelope(value: bytes | None, topic: str = TOPIC) -> KafkaEnvelope:
    return KafkaEnvelope(topic, 0, 7, 1_764_590_400_000, value)


def rejected_for_a_reason(outcome) -> bool:
    """Accepted, or rejected with a contract reason; never the catch-all for a validator bug."""
    if isinstance(outcome, Accepted):
        return True
    assert isinstance(outcome, Rejected)
    return isinstance(outcome.reason, Reason) and not outcome.detail.startswith("validator error")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(["message_id", "source", "text", "created_at", "user", "tags", "rating", "extra"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.none(), st.sampled_from([TOPIC, "feedback.alerts", "other", "feedback.Bad!"]))
def test_any_bytes_get_an_outcome_with_a_reason(value, topic) -> None:
    assert rejected_for_a_reason(validate(envelope(value, topic), NOW))


VALID = {"message_id": "m1", "source": "crm", "text": "slow refund", "created_at": "2026-11-30T10:00:00Z"}
timestamps = st.datetimes(timezones=st.timezones() | st.just(UTC)).map(datetime.isoformat) | st.text(max_size=30)
odd_values = json_values | st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, 2**70, True])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields, json_values, max_size=8) | st.builds(lambda k, v: VALID | {k: v}, fields, odd_values))
def test_any_json_object_gets_an_outcome_with_a_reason(obj) -> None:
    value = json.dumps(obj).encode()  # floats may be NaN or Infinity: Python's json writes and reads them
    assert rejected_for_a_reason(validate(envelope(value), NOW))


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "message_id": st.text(min_size=1, max_size=30).filter(str.strip),
            "text": st.text(min_size=1, max_size=300).filter(str.strip),
            "created_at": st.integers(min_value=-3600 * 24 * 3000, max_value=3600 * 23),
            "offset_minutes": st.integers(min_value=-14 * 60, max_value=14 * 60),
        },
        optional={
            "rating": st.integers(min_value=1, max_value=5),
            "tags": st.lists(st.text(max_size=10), max_size=3),
            "user": st.fixed_dictionaries({"id": st.text(max_size=10), "segment": st.text(max_size=10)}),
            "channel": st.text(max_size=10),
        },
    )
)
def test_every_valid_message_round_trips(draw) -> None:
    from datetime import timezone

    created = (NOW + timedelta(seconds=draw["created_at"])).astimezone(
        timezone(timedelta(minutes=draw["offset_minutes"]))
    )
    message = {
        "message_id": draw["message_id"],
        "source": "crm",
        "text": draw["text"],
        "created_at": created.isoformat(),
    }
    message |= {k: draw[k] for k in ("rating", "tags", "user", "channel") if k in draw}
    outcome = validate(envelope(json.dumps(message).encode()), NOW)
    assert isinstance(outcome, Accepted), outcome
    row = outcome.row
    assert (row["message_id"], row["source"], row["text"]) == (message["message_id"], "crm", message["text"])
    assert row["created_at"] == created and row["created_at"].tzinfo == UTC
    assert row["rating"] == message.get("rating") and row["tags"] == message.get("tags")
    if "user" in message:
        assert (row["user_id"], row["user_segment"]) == (message["user"]["id"], message["user"]["segment"])
    assert (
        json.loads(row["attributes"]) == {"channel": message["channel"]}
        if "channel" in message
        else row["attributes"] is None
    )
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == (TOPIC, 0, 7)


@settings(max_examples=300, deadline=None)
@given(timestamps)
def test_any_timestamp_is_accepted_or_rejected_as_a_timestamp(created_at) -> None:
    outcome = validate(envelope(json.dumps(VALID | {"created_at": created_at}).encode()), NOW)
    assert rejected_for_a_reason(outcome)
    if isinstance(outcome, Rejected):
        assert outcome.reason in (Reason.BAD_TIMESTAMP, Reason.TIMESTAMP_OUT_OF_RANGE), outcome


def test_non_finite_ratings_and_extreme_dates_are_contract_rejections() -> None:
    """Found by the properties above: NaN/Infinity ratings and dates at the calendar's ends."""
    for change, reason in (
        ({"rating": float("nan")}, Reason.WRONG_TYPE),
        ({"rating": float("inf")}, Reason.WRONG_TYPE),
        ({"created_at": "0001-01-01T00:00:00+01:00"}, Reason.BAD_TIMESTAMP),
        ({"created_at": "9999-12-31T23:59:59-01:00"}, Reason.BAD_TIMESTAMP),
    ):
        outcome = validate(envelope(json.dumps(VALID | change).encode()), NOW)
        assert isinstance(outcome, Rejected) and outcome.reason == reason, (change, outcome)
