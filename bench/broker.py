"""The embedded broker's s3 storage under single-message batches (a script, not a test).

    .venv/bin/python bench/broker.py [--batches 200,1000,3000] [--waits 10,500] [--parts store,tansu,intake]
        [--lingers 5,20,50,100] [--rate 1000] [--events 20000] [--latency-rate 75] [--latency-waits 500,100,20]

1. The object store alone (``services/localbucket_server.py``, a fresh data folder): a GET of a 300-byte
   object over one keep-alive connection, and one ListObjects page of a partition's records folder as
   it fills up (Tansu lists it on every fetch).
2. Tansu on that store (a fresh home, one partition filled with one-message batches, ``batch.num.messages``
   1): how long a fresh consumer takes to read its newest record, at each ``fetch.wait.max.ms`` of
   ``--waits`` (a wait shorter than the listing gets nothing: 8 s means nothing came).
3. The broker's intake (``services/intake.py``), per ``--lingers`` value (``off``: straight to Tansu): three
   platform producers sending ``--events`` one at a time at ``--rate`` msg/s in all (``bench/producers.py``)
   to three topics of 3 partitions; how long producing took, the batches Tansu stored, the CPU seconds of
   the S3 server, Tansu and the intake meanwhile, then how long a fresh reader takes to read every event.
4. Latency (``--parts latency``), with the intake (defaults; then lingering whatever the rate) and without:
   one producer sending single events at ``--latency-rate`` msg/s for 20 s while a reader polls where clients
   connect (the intake, which answers from its tail; ``fetch.wait.max.ms`` per ``--latency-waits``; 500 is
   the alert job's on this storage); p50/p99 from each event's Kafka timestamp to its acknowledgement (intake
   and store) and to its arrival at the reader (the part of the alert path before the job).

Prints one line per figure; figures: bench/RESULTS.md, "Broker: the embedded s3 storage" (the run in
docs/history/results-journal.md, section "Broker: a steady stream of single messages").
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import SOURCES, create_topics, pct  # noqa: E402

from bench.producers import produce_single  # noqa: E402
from lake.settings import Settings  # noqa: E402
from services import broker, process  # noqa: E402
from services import object_store as store  # noqa: E402

GIVE_UP_S = 8.0


def object_store(batches: list[int]) -> None:
    port = process.free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "services.localbucket_server", "--port", str(port), data])
        try:
            time.sleep(1.5)
            conn = http.client.HTTPConnection("127.0.0.1", port)

            def request(method: str, path: str, body: bytes | None = None) -> None:
                conn.request(method, path, body=body)
                conn.getresponse().read()

            request("PUT", "/tansu")
            stored = 0
            for total in batches:
                while stored < total:
                    request("PUT", f"/tansu/t/p/0/records/{stored:020d}.batch", b"x" * 300)
                    stored += 1
                started = time.perf_counter()
                for _ in range(10):
                    request("GET", "/tansu?list-type=2&prefix=t/p/0/records/")
                print(
                    f"object store: one list page of {total} stored batches {(time.perf_counter() - started) * 100:.1f} ms"
                )
            started = time.perf_counter()
            for i in range(200):
                request("GET", f"/tansu/t/p/0/records/{i:020d}.batch")
            print(f"object store: GET of a 300-byte object {(time.perf_counter() - started) * 5:.2f} ms")
        finally:
            server.terminate()
            server.wait()


def fetch_after(bootstrap: str, offset: int, wait_ms: int) -> float:
    """Seconds until a fresh consumer at ``offset`` got a record (``GIVE_UP_S``: none came)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"probe-{offset}-{wait_ms}", "fetch.wait.max.ms": wait_ms}
    )
    consumer.assign([TopicPartition("t", 0, offset)])
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < GIVE_UP_S:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                return time.perf_counter() - started
        return GIVE_UP_S
    finally:
        consumer.close()


def tansu(batches: list[int], waits: list[int]) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        info = broker.start(settings)
        try:
            admin = AdminClient({"bootstrap.servers": info.bootstrap})
            admin.create_topics([NewTopic("t", 1, 1)])["t"].result()
            producer = Producer({"bootstrap.servers": info.bootstrap, "linger.ms": 0, "batch.num.messages": 1})
            stored = 0
            for total in batches:
                while stored < total:
                    producer.produce("t", f"m{stored}".encode())
                    producer.poll(0)
                    stored += 1
                    if stored % 200 == 0:
                        producer.flush(60)
                producer.flush(60)
                for wait in waits:
                    took = fetch_after(info.bootstrap, total - 1, wait)
                    got = f"nothing within {GIVE_UP_S:.0f} s" if took >= GIVE_UP_S else f"in {took * 1000:.0f} ms"
                    print(f"tansu on s3: {total} stored batches, fetch wait {wait} ms: the newest record {got}")
        finally:
            broker.stop(settings)


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    import psutil

    out = {}
    for name, pid in pids.items():
        times = psutil.Process(pid).cpu_times()
        out[name] = times.user + times.system
    return out


def _read_all(bootstrap: str, topics: list[str], expected: int) -> float:
    from confluent_kafka import Consumer, TopicPartition

    from flink import kafka_io

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe-all"})
    consumer.assign([TopicPartition(t, p, 0) for t, p in kafka_io.topic_partitions(bootstrap, topics)])
    started, got = time.perf_counter(), 0
    while got < expected and time.perf_counter() - started < 120:
        got += sum(1 for m in consumer.consume(1000, 1.0) if not m.error())
    consumer.close()
    return time.perf_counter() - started


def intake(lingers: list[str], rate: float, events: int) -> None:
    topics = [f"feedback.{source}" for source in SOURCES]
    records = [
        (topics[i % 3], f'{{"id": {i}, "text": "event {i} of a steady stream"}}'.encode()) for i in range(events)
    ]
    for linger in lingers:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), broker_intake=linger != "off")
            if linger != "off":
                settings = settings.replace(broker_intake_linger_ms=float(linger))
            info = broker.start(settings)
            try:
                create_topics(info.bootstrap)  # three partitions each
                state = store.running(settings)
                pids = {"S3 server": state["pid"] if state else 0, "Tansu": info.pid}
                if info.intake_pid:
                    pids["intake"] = info.intake_pid
                before, started = _cpu_seconds(pids), time.perf_counter()
                produce_single(info.intake or info.bootstrap, records, rate)
                took, after = time.perf_counter() - started, _cpu_seconds(pids)
                stored = sum(1 for _ in broker.topics_dir(settings).glob("*/partitions/*/records/*.batch"))
                cpu = ", ".join(f"{name} {after[name] - before[name]:.1f} s" for name in pids)
                read = _read_all(info.bootstrap, topics, events)
                print(
                    f"intake {'off' if linger == 'off' else f'linger {linger} ms'}: {events} events at {rate:g} msg/s "
                    f"produced in {took:.1f} s; {stored} stored batches; CPU {cpu}; a fresh reader read them in "
                    f"{read:.1f} s",
                    flush=True,
                )
            finally:
                broker.stop(settings)


def _latency_run(bootstrap: str, to: str, topics: list[str], rate: float, seconds: float, wait_ms: int) -> str:
    import threading

    from confluent_kafka import Consumer, Producer, TopicPartition

    from flink import kafka_io

    acked: list[float] = []
    arrived: list[float] = []
    stop = threading.Event()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lat", "fetch.wait.max.ms": wait_ms})
    consumer.assign([TopicPartition(t, p, 0) for t, p in kafka_io.topic_partitions(bootstrap, topics)])

    def read() -> None:
        while not stop.is_set():  # poll returns each message as it comes (consume waits to fill its batch)
            m = consumer.poll(0.1)
            if m is not None and not m.error():
                arrived.append(time.time() - m.timestamp()[1] / 1000)

    def delivered(err, msg) -> None:
        if err is None:
            acked.append(time.time() - msg.timestamp()[1] / 1000)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(2)
    producer = Producer({"bootstrap.servers": to, "linger.ms": 2})
    started = time.time()
    for i in range(int(rate * seconds)):
        time.sleep(max(0.0, started + i / rate - time.time()))
        producer.produce(
            topics[i % 3],
            f"event {i}".encode(),
            on_delivery=delivered,
        )
        producer.poll(0)
    producer.flush(30)
    time.sleep(3)
    stop.set()
    reader.join()
    consumer.close()
    return (
        f"acknowledged p50 {pct(acked, 0.5) * 1000:.0f} ms, p99 {pct(acked, 0.99) * 1000:.0f} ms; read p50 "
        f"{pct(arrived, 0.5) * 1000:.0f} ms, p99 {pct(arrived, 0.99) * 1000:.0f} ms ({len(arrived)} of {len(acked)})"
    )


def latency(rate: float, waits: list[int], seconds: float = 20.0) -> None:
    """The defaults at each wait; then the intake always lingering (``at_once_per_s`` 0); then no intake."""
    topics = [f"feedback.{source}" for source in SOURCES]
    default = Settings.model_fields["broker_intake_at_once_per_s"].default
    runs = [(True, default, w) for w in waits] + [(True, 0.0, waits[0]), (False, default, waits[0])]
    for with_intake, at_once, wait_ms in runs:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), broker_intake=with_intake, broker_intake_at_once_per_s=at_once)
            info = broker.start(settings)
            try:
                create_topics(info.bootstrap)  # three partitions each
                clients = info.intake or info.bootstrap  # readers too: the intake answers them from its tail
                figures = _latency_run(clients, clients, topics, rate, seconds, wait_ms)
                intake_is = f"on (linger 50 ms past {at_once:g} stored batches a second)" if with_intake else "off"
                print(
                    f"latency, intake {intake_is}, {rate:g} msg/s, reader's fetch wait {wait_ms} ms: {figures}",
                    flush=True,
                )
            finally:
                broker.stop(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="200,1000,3000", help="stored one-message batches to measure at")
    parser.add_argument("--waits", default="10,500", help="consumer fetch.wait.max.ms values")
    parser.add_argument("--parts", default="store,tansu,intake", help="which of the three measurements to run")
    parser.add_argument("--lingers", default="5,20,50,100", help="the intake's linger values (off: no intake)")
    parser.add_argument("--rate", type=float, default=1000.0, help="events a second, all producers together")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--latency-rate", type=float, default=75.0, help="events a second in the latency part")
    parser.add_argument("--latency-waits", default="500,100,20", help="the reader's fetch waits in the latency part")
    args = parser.parse_args()
    batches = sorted(int(b) for b in args.batches.split(","))
    parts = set(args.parts.split(","))
    if "store" in parts:
        object_store(batches)
    if "tansu" in parts:
        tansu(batches, [int(w) for w in args.waits.split(",")])
    if "intake" in parts:
        intake(args.lingers.split(","), args.rate, args.events)
    if "latency" in parts:
        latency(args.latency_rate, [int(w) for w in args.latency_waits.split(",")])


if __name__ == "__main__":
    main()
