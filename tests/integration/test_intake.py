"""The broker's intake (services/intake.py) between real producers and a real Tansu on the default storage."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from flink import kafka_io
from lake.settings import Settings
from services import broker as broker_mod
from services.errors import BrokerNotRunningError

pytestmark = pytest.mark.slow

TOPICS = ("feedback.crm", "feedback.support", "feedback.reviews")


def _stored_objects(settings: Settings, topic: str) -> int:
    """Record batches Tansu stored for ``topic`` on the s3 storage (one object each)."""
    return sum(1 for _ in (broker_mod.topics_dir(settings) / topic).glob("partitions/*/records/*.batch"))


def _read_all(
    bootstrap: str, topics: tuple[str, ...], expected: int, errors: list[str] | None = None
) -> dict[tuple[str, int, int], tuple]:
    """Every record of ``topics`` from their start (CRCs checked), until ``expected`` and nothing more for
    half a second, or a minute passed; what the consumer reported instead of a record goes to ``errors``."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False, "check.crcs": True}
    )
    partitions = kafka_io.topic_partitions(bootstrap, topics)
    assert {t for t, _ in partitions} == set(topics), f"the broker listed only {partitions}"
    consumer.assign([TopicPartition(t, p, 0) for t, p in partitions])
    got: dict[tuple[str, int, int], tuple] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # to the end: what was stored twice is read too
        msg = consumer.poll(0.5)
        if msg is None and len(got) >= expected:
            break
        if msg is not None and msg.error() and errors is not None:
            errors.append(str(msg.error()))
        if msg is not None and not msg.error():
            got[(msg.topic(), msg.partition(), msg.offset())] = (
                msg.key(),
                msg.value(),
                msg.headers(),
                msg.timestamp()[1],
            )
    consumer.close()
    return got


def _read_until(
    bootstrap: str, topics: tuple[str, ...], expected: int, into: dict[tuple[int, int], tuple[bytes, float]]
) -> None:
    """Read ``topics`` from their start into ``into`` (partition, offset → value, when it arrived), until
    ``expected`` messages or a minute passed."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "live", "enable.auto.commit": False})
    consumer.assign([TopicPartition(t, p, 0) for t, p in kafka_io.topic_partitions(bootstrap, topics)])
    deadline = time.monotonic() + 60
    while len(into) < expected and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            position = (msg.partition(), msg.offset())
            into[position] = (
                msg.value() if position not in into else b"read twice",
                time.time() - msg.timestamp()[1] / 1000,
            )
    consumer.close()


def test_single_events_are_stored_merged_each_at_the_offset_its_producer_was_told(settings: Settings) -> None:
    info = broker_mod.start(settings)
    try:
        assert info.storage == "s3" and info.intake and broker_mod.intake_servers(settings) == info.intake
        reports: list[tuple] = []
        errors: list[str] = []
        per_topic = 400

        def platform(topic: str) -> None:  # one event per produce call, as platforms send, ~400 msg/s each
            p = Producer({"bootstrap.servers": info.intake, "linger.ms": 2})

            def delivered(err, msg) -> None:
                if err:
                    errors.append(str(err))
                else:
                    key = (msg.topic(), msg.partition(), msg.offset())
                    sent_headers = [("n", msg.key().rpartition(b"-")[2])]  # a delivery report carries none
                    reports.append((key, (msg.key(), msg.value(), sent_headers, msg.timestamp()[1])))

            for i in range(per_topic):
                p.produce(
                    topic,
                    key=f"{topic}-{i}".encode(),
                    value=f"event {i}".encode(),
                    headers=[("n", str(i).encode())],
                    on_delivery=delivered,
                )
                p.poll(0)
                time.sleep(0.0025)
            assert p.flush(60) == 0

        threads = [threading.Thread(target=platform, args=(t,)) for t in TOPICS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(reports) == 3 * per_topic
        told = dict(reports)
        assert len(told) == len(reports), "two events were told the same offset"
        read_errors: list[str] = []
        got = _read_all(info.bootstrap, TOPICS, len(told), read_errors)  # straight from Tansu, CRCs checked
        counts = {t: (sum(k[0] == t for k in told), sum(k[0] == t for k in got)) for t in TOPICS}
        assert all(n_told == n_got for n_told, n_got in counts.values()), f"(told, read): {counts}; {read_errors}"
        assert got == told
        for topic in TOPICS:  # in each partition, one producer's events keep their order
            for partition in {p for t, p, _ in told if t == topic}:
                ns = [int(v[2][0][1]) for (t, p, _), v in sorted(got.items()) if (t, p) == (topic, partition)]
                assert ns == sorted(ns)
        stored = sum(_stored_objects(settings, t) for t in TOPICS)
        assert 0 < stored < len(told) / 2, f"{stored} stored batches for {len(told)} events: not merged"
    finally:
        broker_mod.stop(settings)


def test_what_is_not_merged_passes_through_and_answers(settings: Settings) -> None:
    info = broker_mod.start(settings)
    try:
        idempotent = Producer({"bootstrap.servers": info.intake, "enable.idempotence": True})
        compressed = Producer({"bootstrap.servers": info.intake, "compression.type": "gzip"})
        for producer, value in ((idempotent, b"idempotent"), (compressed, b"gzip")):
            producer.produce("feedback.crm", value=value)
            assert producer.flush(30) == 0
        assert sorted(r.value for r in kafka_io.consume(info.bootstrap, ["feedback.crm"], max_idle_s=1.5)) == [
            b"gzip",
            b"idempotent",
        ]
    finally:
        broker_mod.stop(settings)


def test_the_intake_follows_the_broker_through_a_restart_and_can_be_switched_off(settings: Settings) -> None:
    info = broker_mod.start(settings)
    try:
        assert kafka_io.produce(info.intake, [("feedback.crm", b"before")]) == 1
        broker_mod.stop(settings)
        with pytest.raises(BrokerNotRunningError):
            broker_mod.intake_servers(settings)
        again = broker_mod.start(settings)
        assert again.intake == info.intake  # producers reconnect to the address they had
        assert kafka_io.produce(broker_mod.intake_servers(settings), [("feedback.crm", b"after")]) == 1
        assert sorted(r.value for r in kafka_io.consume(again.bootstrap, ["feedback.crm"], max_idle_s=1.5)) == [
            b"after",
            b"before",
        ]
        off = settings.replace(broker_intake=False)
        direct = broker_mod.start(off)
        assert direct.intake == "" and broker_mod.intake_servers(off) == direct.bootstrap
        assert broker_mod.status(settings) is not None
    finally:
        broker_mod.stop(settings)


def test_events_sent_while_the_broker_dies_and_comes_back_are_all_stored(settings: Settings) -> None:
    import os
    import signal

    info = broker_mod.start(settings)
    try:
        told: dict[bytes, tuple[int, int]] = {}
        errors: list[str] = []
        producer = Producer({"bootstrap.servers": info.intake, "linger.ms": 2, "message.timeout.ms": 60000})

        def delivered(err, msg) -> None:
            if err:
                errors.append(str(err))
            else:
                told[msg.value()] = (msg.partition(), msg.offset())

        read_live: dict[tuple[int, int], tuple[bytes, float]] = {}
        # a reader of the intake from the 20th event on: its tail starts again when Tansu does
        live = threading.Thread(target=_read_until, args=(info.intake, ("feedback.crm",), 300, read_live))

        for i in range(300):
            producer.produce("feedback.crm", value=f"event {i}".encode(), on_delivery=delivered)
            producer.poll(0)
            time.sleep(0.01)
            if i == 20:
                live.start()
            if i == 100:
                os.kill(info.pid, signal.SIGKILL)  # Tansu dies under the intake
            if i == 150:
                assert broker_mod.start(settings).intake == info.intake  # back, the intake at the same address
        assert producer.flush(90) == 0 and errors == []
        assert len(told) == 300
        stored = {
            (p, o): value for (_, p, o), (_, value, _, _) in _read_all(info.bootstrap, ("feedback.crm",), 300).items()
        }
        assert all(stored.get(position) == value for value, position in told.items())  # each where it was told
        live.join()
        assert {position: value for position, (value, _) in read_live.items()} == stored  # the reader saw the same
    finally:
        broker_mod.stop(settings)


def test_a_steady_thousand_single_events_a_second_are_read_as_they_come(settings: Settings) -> None:
    """Three platforms sending one event per request, 1,000 a second in all, on the default storage: a reader of
    Tansu keeps up (straight to Tansu the producers time out at this rate: bench/RESULTS.md, "Broker")."""
    from bench.producers import produce_single

    info = broker_mod.start(settings)
    try:
        kafka_io.produce(info.intake, [(t, b"warm") for t in TOPICS])
        arrived: list[float] = []
        consumer = Consumer({"bootstrap.servers": info.bootstrap, "group.id": "steady", "enable.auto.commit": False})
        consumer.assign([TopicPartition(t, p, 0) for t, p in kafka_io.topic_partitions(info.bootstrap, TOPICS)])
        events = [(TOPICS[i % 3], f"event {i}".encode()) for i in range(5000)]

        def read() -> None:
            deadline = time.monotonic() + 90
            while len(arrived) < len(events) + 3 and time.monotonic() < deadline:
                arrived.extend(time.monotonic() for m in consumer.consume(500, 0.2) if not m.error())

        reader = threading.Thread(target=read)
        reader.start()
        started = time.monotonic()
        produce_single(info.intake, events, rate=1000)
        sent = time.monotonic() - started
        reader.join()
        consumer.close()
        assert len(arrived) == len(events) + 3
        assert sent < 5.0 + 1.5, f"the producers took {sent:.1f} s for a 5 s stream"
        assert arrived[-1] - started < 5.0 + 3.0, f"read the 5 s stream in {arrived[-1] - started:.1f} s"
    finally:
        broker_mod.stop(settings)


def test_a_reader_at_the_end_gets_each_event_as_soon_as_it_is_stored(settings: Settings) -> None:
    """A reader of the intake waiting 500 ms per fetch (Tansu answers such a fetch only at the end of the wait
    when nothing is new: ~200 ms late on average, bench/RESULTS.md, "Broker") gets events from the intake's
    tail, merged or passed through, each once at the offset its producer was told."""
    info = broker_mod.start(settings)
    try:
        told: dict[tuple[int, int], bytes] = {}
        plain = Producer({"bootstrap.servers": info.intake, "linger.ms": 2})
        idempotent = Producer({"bootstrap.servers": info.intake, "enable.idempotence": True, "linger.ms": 2})

        def delivered(err, msg) -> None:
            assert err is None
            told[(msg.partition(), msg.offset())] = msg.value()

        kafka_io.produce(info.intake, [("feedback.crm", b"warm")])
        read: dict[tuple[int, int], tuple[bytes, float]] = {}
        reader = threading.Thread(target=_read_until, args=(info.intake, ("feedback.crm",), 301, read))
        reader.start()
        time.sleep(2)  # assigned and waiting at the end
        # 75 a second, one event per request; every tenth from an idempotent producer (passed through)
        for i in range(300):
            producer, partition = (idempotent if i % 10 == 0 else plain), i % 3
            producer.produce("feedback.crm", value=f"event {i}".encode(), partition=partition, on_delivery=delivered)
            producer.poll(0)
            time.sleep(1 / 75)
        assert plain.flush(30) == 0 and idempotent.flush(30) == 0
        reader.join()
        events = {position: value for position, (value, _) in read.items() if value != b"warm"}
        assert events == told
        delays = sorted(delay for value, delay in read.values() if value != b"warm")
        assert delays[len(delays) // 2] < 0.1, f"read p50 {delays[len(delays) // 2] * 1000:.0f} ms after sending"
    finally:
        broker_mod.stop(settings)


def test_merged_and_passed_through_events_to_one_partition_are_all_stored(settings: Settings) -> None:
    """Tansu's s3 storage fails one of two produce requests that reach a partition at once (AlreadyExists,
    which a producer takes as fatal): the intake lets one at a time through per partition, merged or not."""
    info = broker_mod.start(settings)
    try:
        errors: list[str] = []
        told: dict[int, bytes] = {}

        def delivered(err, msg) -> None:
            if err is not None:
                errors.append(str(err))
            else:
                told[msg.offset()] = msg.value()

        def platform(name: str, config: dict) -> None:  # ~200 a second each, one event per request
            producer = Producer({"bootstrap.servers": info.intake, "linger.ms": 0, **config})
            for i in range(400):
                producer.produce("feedback.crm", value=f"{name} {i}".encode(), partition=0, on_delivery=delivered)
                producer.poll(0)
                time.sleep(0.005)
            assert producer.flush(30) == 0

        threads = [
            threading.Thread(target=platform, args=("plain", {})),
            threading.Thread(target=platform, args=("idempotent", {"enable.idempotence": True})),
            threading.Thread(target=platform, args=("compressed", {"compression.type": "gzip"})),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(told) == 1200, f"{1200 - len(told)} events were told an offset another event was told"
        read: dict[tuple[int, int], tuple[bytes, float]] = {}
        _read_until(info.intake, ("feedback.crm",), 1200, read)
        assert {offset: value for (_, offset), (value, _) in read.items()} == told
    finally:
        broker_mod.stop(settings)


def test_the_intake_serves_its_counters_as_prometheus_metrics(settings: Settings) -> None:
    info = broker_mod.start(settings)
    try:
        kafka_io.produce(info.intake, [("feedback.crm", f"event {i}".encode()) for i in range(20)])
        kafka_io.consume(info.intake, ["feedback.crm"], max_idle_s=2.0)  # a reader at the end: the tail answers
        port_file = broker_mod.intake_metrics_port_file(settings)
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port_file.read_text()}/metrics", timeout=5).read().decode()
        samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples["reasonlake_intake_merged_requests_total"] >= 1
        assert 1 <= samples["reasonlake_intake_stored_batches_total"] <= 20
        assert samples["reasonlake_intake_requests_total"] > samples["reasonlake_intake_merged_requests_total"]
        assert samples["reasonlake_intake_tail_bytes"] > 0 and samples["reasonlake_intake_tail_partitions"] >= 1
        status = subprocess.run(
            [sys.executable, "-m", "reasonlake", "--home", str(settings.home), "status"],
            capture_output=True,
            text=True,
            timeout=60,
            env=settings.child_env(),
        )
        assert f"metrics at http://127.0.0.1:{port_file.read_text()}/metrics" in status.stdout
    finally:
        broker_mod.stop(settings)
