"""Numbered feedback records for the ingestion tests: ``feedback.<source>`` topics in turn, every
``invalid_every``-th record not JSON (``not json #i``), the rest valid messages ``<source>-<i>``; and a
producer that says where each record landed (:func:`produce_recorded`), and how far the lake is from
holding each of them exactly once (:func:`ingestion_gaps`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from flink import kafka_io
from lake import catalog as lake_catalog

SOURCES = ("crm", "support_portal", "review_portal")


class Sent(NamedTuple):
    """One produced record, where its delivery report says it landed."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


def feedback_records(start: int, n: int, invalid_every: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(start, start + n):
        source = SOURCES[i % len(SOURCES)]
        if i % invalid_every == 0:
            value = f"not json #{i}".encode()
        else:
            value = json.dumps(
                {
                    "message_id": f"{source}-{i}",
                    "source": source,
                    "text": f"slow refund number {i}",
                    "created_at": "2026-01-05T10:00:00Z",
                }
            ).encode()
        out.append((f"feedback.{source}", value))
    return out


def produce_recorded(bootstrap: str, records: list[tuple[str, bytes | None]], timeout_s: float = 60.0) -> list[Sent]:
    """Send ``(topic, value)`` records and return where each landed, from its delivery report (in the
    order given): the exact offsets to look for in the lake, where the broker's own "latest" offset is only
    a lower bound (docs/ingestion.md, "Broker bugs worked around"). Fails when any record is not
    acknowledged within ``timeout_s``."""
    producer = kafka_io.producer(bootstrap)
    landed: dict[int, Sent] = {}
    errors: list[str] = []

    def delivered(i: int, topic: str, value: bytes | None):
        def report(err, msg) -> None:
            if err is None:
                landed[i] = Sent(topic, msg.partition(), msg.offset(), value)
            else:
                errors.append(f"record {i}: {err}")

        return report

    for i, (topic, value) in enumerate(records):
        while True:
            try:
                producer.produce(topic, value=value, on_delivery=delivered(i, topic, value))
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(timeout_s)
    assert not errors and not left, f"{len(errors)} failed, {left} unacknowledged of {len(records)}: {errors[:3]}"
    return [landed[i] for i in range(len(records))]


def ingestion_gaps(cat, sent: Sequence[tuple[Sent, str | None]]) -> str:
    """How the lake falls short of exactly-once for ``sent`` records, each with the reason code it must be
    rejected with (None: valid); "" when every one is exactly one row, found by its Kafka position: a valid
    one in ``raw.feedback`` with its own ``message_id`` (and that id there as often as it was sent: a
    platform's re-sends are rows of their own), an invalid one in ``raw.feedback_rejected`` with its reason
    and nowhere else. Rows of records not in ``sent`` are not looked at."""
    kafka = ("kafka_topic", "kafka_partition", "kafka_offset")
    raw = lake_catalog.read(cat, "raw.feedback", selected_fields=(*kafka, "message_id")).to_pylist()
    rejected = lake_catalog.read(cat, "raw.feedback_rejected", selected_fields=(*kafka, "reason")).to_pylist()
    ids_at: dict[tuple, list[str]] = defaultdict(list)
    reasons_at: dict[tuple, list[str]] = defaultdict(list)
    for row in raw:
        ids_at[tuple(row[k] for k in kafka)].append(row["message_id"])
    for row in rejected:
        reasons_at[tuple(row[k] for k in kafka)].append(row["reason"])
    missing, doubled, wrong = [], [], []
    for record, reason in sent:
        at = (record.topic, record.partition, record.offset)
        want = [json.loads(record.value or b"")["message_id"]] if reason is None else []
        got_ids, got_reasons = ids_at.get(at, []), reasons_at.get(at, [])
        if len(got_ids) + len(got_reasons) == 0:
            missing.append(at)
        elif len(got_ids) + len(got_reasons) > 1:
            doubled.append(at)
        elif got_ids != want or got_reasons != ([] if reason is None else [reason]):
            wrong.append(f"{at}: want {want or reason}, got {got_ids or got_reasons}")
    produced_ids = Counter(json.loads(r.value or b"")["message_id"] for r, reason in sent if reason is None)
    by_id = Counter(row["message_id"] for row in raw if row["message_id"] in produced_ids)
    id_gaps = {i: (by_id[i], n) for i, n in produced_ids.items() if by_id[i] != n}
    if not (missing or doubled or wrong or id_gaps):
        return ""
    return (
        f"of {len(sent)} records: {len(missing)} missing (e.g. {missing[:3]}), {len(doubled)} doubled "
        f"(e.g. {doubled[:3]}), {len(wrong)} in the wrong table or with the wrong reason (e.g. {wrong[:3]}); "
        f"{len(id_gaps)} message ids ingested another number of times than sent (id: (rows, sent), e.g. "
        f"{dict(list(id_gaps.items())[:3])})"
    )
