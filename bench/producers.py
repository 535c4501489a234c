"""Producers as real platforms are: each event handed to the Kafka client on its own (bench/ingest.py, bench/alerts.py)."""

from __future__ import annotations

import threading
import time

from flink import kafka_io

SINGLE_LINGER_MS = 2  # what a platform emitting events one at a time sets


def produce_single(bootstrap: str, records: list[tuple[str, bytes]], rate: float) -> float:
    """Produce as the platforms do: one producer per topic (platform), each handing its events to the client
    one at a time (``produce`` then ``poll``, ``linger.ms`` 2), paced together at ``rate`` msg/s; returns the
    start time. At 1,000 msg/s over three platforms an event comes every 3 ms per producer: most produce
    requests carry one message."""
    by_topic: dict[str, list[tuple[int, bytes]]] = {}
    for i, (topic, value) in enumerate(records):
        by_topic.setdefault(topic, []).append((i, value))
    started = time.time() + 0.1
    errors: list[str] = []

    def one_platform(topic: str, mine: list[tuple[int, bytes]]) -> None:
        p = kafka_io.producer(bootstrap, SINGLE_LINGER_MS)
        for i, value in mine:
            sleep = started + i / rate - time.time()
            if sleep > 0:
                time.sleep(sleep)
            p.produce(topic, value=value, on_delivery=lambda err, _m: err and errors.append(str(err)))
            p.poll(0)
        if p.flush(300):
            errors.append(f"{topic}: unacknowledged after 300 s")

    threads = [threading.Thread(target=one_platform, args=item) for item in by_topic.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} produce errors, first: {errors[0]}")
    return started


def produce_at(bootstrap: str, records: list[tuple[str, bytes]], rate: float, linger_ms: int, single: bool) -> float:
    """Produce (at ``rate`` msg/s, 0 = unthrottled; ``single``: as the platforms do, see
    :func:`produce_single`); returns the start time."""
    if single and rate > 0:
        return produce_single(bootstrap, records, rate)
    started = time.time()
    if rate <= 0:
        kafka_io.produce(bootstrap, records, timeout_s=300)
        return started
    chunk = max(1, int(rate / 20))
    p = kafka_io.producer(bootstrap, linger_ms)
    for i in range(0, len(records), chunk):
        for topic, value in records[i : i + chunk]:
            while True:
                try:
                    p.produce(topic, value=value)
                    break
                except BufferError:
                    p.poll(0.05)
        p.poll(0)
        sleep = started + (i + chunk) / rate - time.time()
        if sleep > 0:
            time.sleep(sleep)
    p.flush(300)
    return started
