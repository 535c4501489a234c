"""Small confluent-kafka helpers for the CLI, tools and tests (the jobs use Flink's own client).

Tansu caveats handled here: its "latest" offset is wrong, so :func:`consume` always reads from
the beginning and stops on idleness; group joins take half of ``session.timeout.ms``, so the
optional group consumer uses a short one, and the default path assigns partitions directly.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from flink.errors import DeliveryError

SESSION_TIMEOUT_MS = 6000
# a topic's metadata errors that pass (librdkafka's KafkaError.retriable() is False for every metadata error)
_PASSING_METADATA_ERRORS = frozenset(
    {
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.BROKER_NOT_AVAILABLE,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)


@dataclass(frozen=True)
class Record:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


DEFAULT_LINGER_MS = 100


def producer_config(bootstrap: str, linger_ms: int = DEFAULT_LINGER_MS) -> dict[str, object]:
    """Plain at-least-once producer: every replica acknowledges, no transactions, no idempotence.

    ``linger.ms`` 100 by default: the embedded broker's durable storage writes one S3 object per
    produce batch and serves fetches object by object; with librdkafka's 5 ms a steady 5,000 msg/s
    arrives in batches so small that ingestion falls to ~1,000 msg/s, with 100 ms it keeps up
    (``bench/ingest.py --rate 5000 --days 1 --producers batching --linger-ms 5`` against the default;
    docs/history/results-journal.md, section "2026-11-28, later").
    """
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "linger.ms": linger_ms,
        "message.timeout.ms": 30000,
    }


def producer(bootstrap: str, linger_ms: int = DEFAULT_LINGER_MS) -> Producer:
    return Producer(producer_config(bootstrap, linger_ms))


def produce(bootstrap: str, records: Iterable[tuple[str, bytes | None]], timeout_s: float = 30.0) -> int:
    """Send ``(topic, value)`` records, flush, and return how many were acknowledged.

    Raises :class:`DeliveryError` when any record failed or was still unacknowledged at ``timeout_s``.
    """
    p = producer(bootstrap)
    errors: list[str] = []
    acked = 0
    sent = 0

    def on_delivery(err: KafkaError | None, _msg) -> None:
        nonlocal acked
        if err is None:
            acked += 1
        else:
            errors.append(str(err))

    for topic, value in records:
        while True:
            try:
                p.produce(topic, value=value, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                p.poll(0.1)
        sent += 1
        p.poll(0)
    left = p.flush(timeout_s)
    if errors or left:
        raise DeliveryError(
            f"{len(errors)} of {sent} record(s) failed, {left} unacknowledged after {timeout_s}s"
            + (f"; first error: {errors[0]}" if errors else "")
        )
    return acked


def topic_partitions(bootstrap: str, topics: Iterable[str], timeout_s: float = 10.0) -> list[tuple[str, int]]:
    """The partitions of the given topics that exist on the broker. A topic the broker answers for with an
    error that passes (its leader not known yet, a timeout) is asked again until ``timeout_s``: leaving it out
    would read as a topic without any record."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reasonlake-meta-{uuid.uuid4().hex[:8]}"})
    try:
        out: list[tuple[str, int]] = []
        for topic in topics:
            deadline = time.monotonic() + timeout_s
            meta = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
            while meta is not None and meta.error is not None and meta.error.code() in _PASSING_METADATA_ERRORS:
                if time.monotonic() >= deadline:
                    raise KafkaException(meta.error)
                time.sleep(0.2)
                meta = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if meta is None or meta.error is not None:
                continue
            out.extend((topic, p) for p in sorted(meta.partitions))
        return out
    finally:
        c.close()


def end_offsets(bootstrap: str, pattern: str, timeout_s: float = 10.0) -> dict[tuple[str, int], int]:
    """``(topic, partition) -> end offset`` of every topic whose whole name matches the regular expression
    ``pattern`` (a job's ``topic_pattern``): the broker's high watermark (the embedded Tansu reports the
    last batch's base offset + 1, a lower bound)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reasonlake-meta-{uuid.uuid4().hex[:8]}"})
    try:
        wanted = re.compile(pattern)
        out: dict[tuple[str, int], int] = {}
        for name, meta in sorted(c.list_topics(timeout=timeout_s).topics.items()):
            if not wanted.fullmatch(name) or meta.error is not None:
                continue
            for p in sorted(meta.partitions):
                out[(name, p)] = c.get_watermark_offsets(TopicPartition(name, p), timeout=timeout_s, cached=False)[1]
        return out
    finally:
        c.close()


def consume(
    bootstrap: str,
    topics: Iterable[str],
    group_id: str | None = None,
    max_idle_s: float = 3.0,
    timeout_s: float = 60.0,
    first_record_wait_s: float = 5.0,
) -> list[Record]:
    """Read ``topics`` from the beginning until nothing arrives for ``max_idle_s`` (or ``timeout_s``).

    Before the first record the idle limit is at least ``first_record_wait_s``: Tansu's s3 storage
    can take over a second to serve the first fetch of a freshly started broker.

    Without ``group_id`` partitions are assigned directly (no group join, nothing committed);
    with one, the consumer joins that group and commits what it read.
    """
    topics = list(topics)
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": 1000,
    }
    if group_id is None:
        config.update({"group.id": f"reasonlake-read-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    else:
        config["group.id"] = group_id
    c = Consumer(config)
    out: list[Record] = []
    try:
        if group_id is None:
            tps = topic_partitions(bootstrap, topics)
            if not tps:
                return out
            c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
        started = last = time.monotonic()
        if group_id is not None:

            def on_assign(_consumer, _partitions) -> None:
                nonlocal last  # the idle clock starts once the group has given us partitions
                last = time.monotonic()

            last = float("inf")
            c.subscribe(topics, on_assign=on_assign)
        while True:
            now = time.monotonic()
            idle_limit = max_idle_s if out else max(max_idle_s, first_record_wait_s)
            if now - last >= idle_limit or now - started >= timeout_s:
                break
            msg = c.poll(0.2)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                raise KafkaException(error)
            last = time.monotonic()
            _, ts = msg.timestamp()
            out.append(
                Record(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0), ts, msg.key(), msg.value())
            )
        if group_id is not None and out:
            # explicit positions: after a rebalance librdkafka may hold no stored offset ("No offset stored")
            positions: dict[tuple[str, int], int] = {}
            for r in out:
                positions[(r.topic, r.partition)] = max(r.offset + 1, positions.get((r.topic, r.partition), 0))
            c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in positions.items()], asynchronous=False)
        return out
    finally:
        c.close()
