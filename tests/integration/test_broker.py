"""The embedded Tansu broker and the Kafka helpers, on a real broker."""

from __future__ import annotations

import os
import socket

import pytest

from flink import kafka_io
from lake.settings import Settings
from services import broker as broker_mod
from services import object_store, process
from services.errors import BrokerNotRunningError

pytestmark = pytest.mark.slow


def test_round_trip_keeps_every_record_and_tombstones(broker, settings: Settings) -> None:
    records = (
        [("feedback.crm", f"crm-{i}".encode()) for i in range(300)]
        + [("feedback.app", f"app-{i}".encode()) for i in range(20)]
        + [("feedback.app", None)]
    )
    assert kafka_io.produce(broker.bootstrap, records) == len(records)
    got = kafka_io.consume(broker.bootstrap, ["feedback.crm", "feedback.app"], max_idle_s=1.5)
    assert sorted((r.topic, r.value or b"") for r in got) == sorted((t, v or b"") for t, v in records)
    positions = {(r.topic, r.partition, r.offset) for r in got}
    assert len(positions) == len(records)
    # the S3 server under the broker logs no line per request (it would grow for as long as it runs)
    log = (settings.logs_dir / "localbucket.log").read_text()
    assert "serving" in log and "HTTP/1.1" not in log  # its start line only


def test_group_consumer_commits_what_it_read(settings: Settings) -> None:
    # memory storage (speed); nothing in reasonlake relies on group offsets (the jobs keep theirs in Iceberg)
    memory = settings.replace(broker_storage="memory")
    broker = broker_mod.start(memory)
    try:
        kafka_io.produce(broker.bootstrap, [("feedback.web", b"a"), ("feedback.web", b"b")])
        assert len(kafka_io.consume(broker.bootstrap, ["feedback.web"], group_id="readers", max_idle_s=1.0)) == 2
        kafka_io.produce(broker.bootstrap, [("feedback.web", b"c")])
        assert [
            r.value for r in kafka_io.consume(broker.bootstrap, ["feedback.web"], group_id="readers", max_idle_s=1.0)
        ] == [b"c"]
    finally:
        broker_mod.stop(memory)


def test_consume_of_missing_topic_is_empty(broker) -> None:
    assert kafka_io.consume(broker.bootstrap, ["feedback.nothing-here"], max_idle_s=0.5) == []


def test_start_status_stop_are_idempotent(settings: Settings) -> None:
    assert broker_mod.status(settings) is None
    assert broker_mod.stop(settings) is False
    info = broker_mod.start(settings)
    try:
        assert broker_mod.start(settings) == info == broker_mod.status(settings)
        assert broker_mod.bootstrap_servers(settings) == info.bootstrap
        with socket.create_connection(("127.0.0.1", info.port), timeout=1):
            pass
    finally:
        assert broker_mod.stop(settings) is True
    assert broker_mod.stop(settings) is False
    assert broker_mod.status(settings) is None
    assert not (settings.run_dir / "broker.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(info.pid, 0)


def test_stale_state_file_is_replaced(settings: Settings) -> None:
    info = broker_mod.start(settings)
    os.kill(info.pid, 9)
    os.waitpid(info.pid, 0)  # SIGKILL is asynchronous: wait until it is gone
    try:
        assert broker_mod.status(settings) is None
        fresh = broker_mod.start(settings)
        assert fresh.pid != info.pid and broker_mod.status(settings) == fresh
    finally:
        broker_mod.stop(settings)


def test_two_homes_do_not_interfere(tmp_path) -> None:
    a, b = Settings(home=tmp_path / "a"), Settings(home=tmp_path / "b")
    ia, ib = broker_mod.start(a), broker_mod.start(b)
    try:
        assert ia.port != ib.port and ia.pid != ib.pid
        kafka_io.produce(ia.bootstrap, [("feedback.crm", b"only in a")])
        assert [r.value for r in kafka_io.consume(ia.bootstrap, ["feedback.crm"], max_idle_s=1.0)] == [b"only in a"]
        assert kafka_io.consume(ib.bootstrap, ["feedback.crm"], max_idle_s=1.0) == []
        broker_mod.stop(a)
        assert broker_mod.status(a) is None and broker_mod.status(b) == ib
    finally:
        broker_mod.stop(a)
        broker_mod.stop(b)


def test_bootstrap_servers_prefers_external_and_explains_when_missing(settings: Settings) -> None:
    assert broker_mod.bootstrap_servers(settings.replace(bootstrap_servers="kafka:9092")) == "kafka:9092"
    with pytest.raises(BrokerNotRunningError, match="reasonlake up"):
        broker_mod.bootstrap_servers(settings)


def test_the_storages_settings_accept_are_the_ones_the_broker_runs() -> None:
    from typing import get_args

    assert set(get_args(Settings.model_fields["broker_storage"].annotation)) == set(broker_mod.STORAGES)


def test_s3_storage_is_the_default_and_survives_a_restart(settings: Settings) -> None:
    assert settings.broker_storage == "s3" and Settings.from_env({}).broker_storage == "s3"
    info = broker_mod.start(settings)
    try:
        assert info.storage == "s3"
        s3 = object_store.running(settings)
        assert s3 is not None and (settings.home / "broker-s3" / "tansu").is_dir()
        records = [("feedback.crm", f"crm-{i}".encode()) for i in range(500)] + [
            ("feedback.app", b"a"),
            ("feedback.app", None),
        ]
        kafka_io.produce(info.bootstrap, records)
        assert broker_mod.stop(settings) is True
        for pid in (info.pid, s3["pid"]):  # `reasonlake down` stops the broker and its S3 server
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert object_store.running(settings) is None

        again = broker_mod.start(settings)
        got = kafka_io.consume(again.bootstrap, ["feedback.crm", "feedback.app"], max_idle_s=1.5)
        assert sorted((r.topic, r.value or b"") for r in got) == sorted((t, v or b"") for t, v in records)
        kafka_io.produce(again.bootstrap, [("feedback.crm", b"after")])  # offsets continue after the restart
        positions = {
            (r.partition, r.offset) for r in kafka_io.consume(again.bootstrap, ["feedback.crm"], max_idle_s=1.5)
        }
        assert len(positions) == 501
    finally:
        broker_mod.stop(settings)


def test_memory_storage_stays_selectable_and_forgets_on_stop(settings: Settings) -> None:
    memory = settings.replace(broker_storage="memory")
    assert Settings.from_env({"REASONLAKE_BROKER_STORAGE": "memory"}).broker_storage == "memory"
    info = broker_mod.start(memory)
    try:
        assert info.storage == "memory" and object_store.running(memory) is None
        kafka_io.produce(info.bootstrap, [("feedback.crm", b"gone")])
        broker_mod.stop(memory)
        again = broker_mod.start(memory)
        assert kafka_io.consume(again.bootstrap, ["feedback.crm"], max_idle_s=1.0) == []
    finally:
        broker_mod.stop(memory)


def test_s3_server_left_by_a_crashed_broker_is_reused_then_stopped(settings: Settings) -> None:
    info = broker_mod.start(settings)
    s3 = object_store.running(settings)
    kafka_io.produce(info.bootstrap, [("feedback.crm", b"kept")])
    os.kill(info.pid, 9)  # the broker dies; its S3 server keeps the data
    os.waitpid(info.pid, 0)
    try:
        fresh = broker_mod.start(settings)
        assert object_store.running(settings) == s3
        assert [r.value for r in kafka_io.consume(fresh.bootstrap, ["feedback.crm"], max_idle_s=1.0)] == [b"kept"]
    finally:
        broker_mod.stop(settings)
    assert object_store.running(settings) is None


def test_a_port_another_server_holds_is_not_taken_for_the_broker(settings: Settings, monkeypatch) -> None:
    """The port probed for Tansu was once handed to the broker's own S3 server, started in between: Tansu's
    bind failed (its process lives on) while the S3 server answered on the port, and the broker counted as
    started, so producers talked Kafka to an HTTP server. Forced here: Tansu is offered the S3 server's port
    first; the broker must come up on another port, listened on by Tansu itself."""
    broker_mod.S3Storage().prepare(settings)  # the S3 server runs (the broker reuses it)
    taken = {"port": object_store.running(settings)["port"]}

    monkeypatch.setattr(broker_mod, "_preferred_port", lambda _settings: taken["port"])
    monkeypatch.setattr(broker_mod, "START_TIMEOUT_S", 3.0)  # the refused attempt ends sooner
    try:
        info = broker_mod.start(settings)
        assert info.port != taken["port"] and process.listens(info.pid, info.port)
        assert broker_mod.status(settings) == info
        assert kafka_io.produce(info.bootstrap, [("feedback.crm", b"through Tansu")]) == 1
        got = kafka_io.consume(info.bootstrap, ["feedback.crm"], max_idle_s=1.0)
        assert [r.value for r in got] == [b"through Tansu"]
    finally:
        broker_mod.stop(settings)


def test_listens_names_the_process_that_holds_a_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert process.listens(os.getpid(), port)
        assert not process.listens(os.getpid(), port + 1 if port < 65535 else port - 1)
        assert not process.listens(os.getppid(), port)  # answered here, not by that process


def test_status_reports_each_jobs_consumer_lag(settings: Settings) -> None:
    """`reasonlake status`'s lag: the ingest job's against the offsets committed in raw.feedback, the
    alert job's against the positions its subtasks report; pipeline topics (alerts, ops) are not feedback."""
    from datetime import UTC, datetime

    from confluent_kafka.admin import AdminClient, NewTopic

    from flink.progress import Progress, write_progress
    from lake import catalog as lake_catalog
    from reasonlake.system import PROGRESS_DIRS, Lag, consumer_lag, describe, disk_use

    memory = settings.replace(broker_storage="memory")
    broker = broker_mod.start(memory)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        topics = [NewTopic(t, num_partitions=1) for t in ("feedback.web", "feedback.alerts")]
        for future in admin.create_topics(topics).values():
            future.result(timeout=30)
        for i in range(5):  # one batch each: the embedded broker's end offset is exact for single-record batches
            kafka_io.produce(broker.bootstrap, [("feedback.web", f"m{i}".encode())])
        kafka_io.produce(broker.bootstrap, [("feedback.alerts", b"an alert")])
        assert consumer_lag(memory, broker.bootstrap) == {"ingest": Lag(5, True), "alerts": Lag(0, True)}

        at = datetime.now(UTC)
        row = {"message_id": "m2", "source": "web", "text": "t", "created_at": at, "kafka_topic": "feedback.web"}
        row |= {"kafka_partition": 0, "kafka_offset": 2, "kafka_timestamp": at, "ingested_at": at}
        table = lake_catalog.ensure_table(lake_catalog.load(memory), "raw.feedback")
        lake_catalog.append(table, lake_catalog.to_arrow("raw.feedback", [row]), offsets={("feedback.web", 0): 2})
        classify = memory.run_dir.joinpath(*PROGRESS_DIRS["alerts"])
        write_progress(classify, Progress("r1", 0, at.timestamp(), at.timestamp(), positions={"feedback.web#0": 3}))
        lag = consumer_lag(memory, broker.bootstrap)
        assert lag == {"ingest": Lag(2, True), "alerts": Lag(1, True)}
        state = {"pid": 1, "started": "t", "services": {"ingest": {"pid": 2, "up_since": "t", "restarts": 0}}}
        lines = describe(memory, state, lag)
        assert lines[1].endswith("; no progress yet; lag >= 2 records")
        # then what the home holds on disk, by what grows it (the warehouse holds the row just appended)
        assert lines[-1].startswith("disk: warehouse ") and "broker 0.0 MB" in lines[-1] and "logs " in lines[-1]
        assert disk_use(memory)["warehouse"] > 0
    finally:
        broker_mod.stop(memory)


def test_ingested_records_are_pruned_from_the_broker_once_past_the_raw_retention(settings: Settings) -> None:
    """Tansu keeps every record for ever (no retention, no DeleteRecords): ``maintain`` deletes the stored
    batches ingestion has committed once past the broker's retention (7 days unless set), or the raw
    retention when shorter, so the broker's copy of the original texts (personal data) follows it. Nothing not yet ingested goes, nor a
    partition's newest batch, nor another topic's records; what is left reads as after Kafka's retention."""
    from click.testing import CliRunner

    from lake import catalog as lake_catalog
    from reasonlake.cli import cli

    info = broker_mod.start(settings)
    try:
        for b in range(4):  # four produce calls: batches in each partition they land in
            kafka_io.produce(info.bootstrap, [("feedback.crm", f"secret-{b}-{i}".encode()) for i in range(6)])
        kafka_io.produce(info.bootstrap, [("feedback.alerts", b"an alert")])
        topics = settings.home / "broker-s3" / "tansu" / "clusters" / broker_mod.CLUSTER_ID / "topics"
        batches = sorted(topics.glob("*/partitions/*/records/*.batch"))
        crm = [p for p in batches if "/feedback.crm/" in str(p)]
        assert len(crm) >= 4 and any("/feedback.alerts/" in str(p) for p in batches)
        for path in batches:  # written a week ago
            os.utime(path, (path.stat().st_mtime - 8 * 86400,) * 2)
        by_partition: dict[int, list[int]] = {}
        for path in crm:
            by_partition.setdefault(int(path.parent.parent.name), []).append(int(path.stem))
        # ingestion committed everything but the newest record of the fullest partition
        records = kafka_io.consume(info.bootstrap, ["feedback.crm"], max_idle_s=1.5)
        ends = {p: max(r.offset for r in records if r.partition == p) + 1 for p in by_partition}
        fullest = max(by_partition, key=lambda p: len(by_partition[p]))
        committed = {("feedback.crm", p): end - 1 for p, end in ends.items()}
        committed[("feedback.crm", fullest)] = sorted(by_partition[fullest])[1] - 1  # only its first batch
        cat = lake_catalog.load(settings)
        for identifier in ("raw.feedback", "raw.feedback_rejected"):
            table = lake_catalog.ensure_table(cat, identifier)
            lake_catalog.append(table, lake_catalog.to_arrow(identifier, []), offsets=committed)

        home = ["--home", str(settings.home)]
        kept = CliRunner().invoke(cli, [*home, "maintain"], env={"REASONLAKE_BROKER_RETENTION_DAYS": "30"})
        assert "broker: 0 ingested record batch(es) older than 30 days deleted" in kept.output, kept.output
        assert sorted(topics.glob("*/partitions/*/records/*.batch")) == batches  # a week old: within 30 days
        result = CliRunner().invoke(
            cli, [*home, "maintain", "--raw-retention-days", "7"], env={"REASONLAKE_BROKER_RETENTION_DAYS": "30"}
        )
        assert result.exit_code == 0, result.output  # the raw retention, shorter, decides
        left = sorted(topics.glob("*/partitions/*/records/*.batch"))
        gone = [p for p in crm if p not in left]
        expected = sum(len(b) - 1 for p, b in by_partition.items() if p != fullest) + 1
        assert len(gone) == expected and f"broker: {expected} ingested record batch(es)" in result.output
        assert all(any(p.parent == q.parent for q in left) for p in crm)  # each partition's newest kept
        assert any("/feedback.alerts/" in str(p) for p in left)

        # what is left reads as after Kafka's retention, before and after a restart of the broker
        kept = {(r.partition, r.offset) for r in kafka_io.consume(info.bootstrap, ["feedback.crm"], max_idle_s=1.5)}
        assert {(p, o) for p, o in kept if o >= committed[("feedback.crm", p)] + 1} == {
            (r.partition, r.offset) for r in records if r.offset >= committed[("feedback.crm", r.partition)] + 1
        }
        assert len(kept) < len(records)
        broker_mod.stop(settings)
        info = broker_mod.start(settings)
        assert kafka_io.produce(info.bootstrap, [("feedback.crm", b"after the prune")]) == 1
        again = kafka_io.consume(info.bootstrap, ["feedback.crm"], max_idle_s=1.5)
        assert b"after the prune" in {r.value for r in again} and len(again) == len(kept) + 1
    finally:
        broker_mod.stop(settings)
    on_disk = b"".join(p.read_bytes() for p in (settings.home / "broker-s3").rglob("*") if p.is_file())
    pruned_values = {r.value for r in records if r.offset < committed[("feedback.crm", r.partition)] + 1}
    assert pruned_values and not any(v in on_disk for v in pruned_values if v not in {r.value for r in again})


def test_pruning_leaves_an_external_kafka_and_memory_storage_alone(settings: Settings) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    external = broker_mod.prune_records(
        settings.replace(bootstrap_servers="k1:9092"), {("feedback.crm", 0): 9}, now, ".*"
    )
    memory = broker_mod.prune_records(settings.replace(broker_storage="memory"), {("feedback.crm", 0): 9}, now, ".*")
    assert external.batches_deleted == memory.batches_deleted == 0
    assert "external Kafka" in (external.skipped or "") and "memory" in (memory.skipped or "")


def test_a_steady_stream_of_single_messages_is_read_as_it_comes_on_the_default_storage(settings: Settings) -> None:
    """One message per produce request at 100 msg/s on the durable s3 storage: a reader keeps up (before the
    object store answered without Nagle's delay, and listed a prefix's folder only, it read ~25 msg/s:
    services/localbucket_server.py)."""
    import threading
    import time

    from confluent_kafka import Consumer, Producer, TopicPartition

    info = broker_mod.start(settings)
    try:
        assert info.storage == "s3"
        kafka_io.produce(info.bootstrap, [("feedback.crm", b"warm")])
        got: list[float] = []
        consumer = Consumer({"bootstrap.servers": info.bootstrap, "group.id": "steady", "enable.auto.commit": False})
        consumer.assign(
            [TopicPartition(t, p, 0) for t, p in kafka_io.topic_partitions(info.bootstrap, ["feedback.crm"])]
        )

        def read() -> None:
            deadline = time.monotonic() + 60
            while len(got) < 301 and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    got.append(time.monotonic())

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(1)  # the consumer reads the warm-up record
        producer = Producer({"bootstrap.servers": info.bootstrap, "linger.ms": 2, "batch.num.messages": 1})
        started = time.monotonic()
        for i in range(300):
            time.sleep(max(0.0, started + i / 100 - time.monotonic()))
            producer.produce("feedback.crm", f"m{i}".encode())
            producer.poll(0)
        assert producer.flush(30) == 0
        reader.join()
        consumer.close()
        assert len(got) == 301
        assert got[-1] - started < 3.0 + 2.0, f"read the 3 s stream in {got[-1] - started:.1f} s"
    finally:
        broker_mod.stop(settings)
