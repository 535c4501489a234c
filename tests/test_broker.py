"""The embedded Tansu broker and the Kafka helpers, on a real broker."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import pytest

from flink import broker as broker_mod
from flink import kafka_io
from flink.errors import BrokerNotRunningError, UnsupportedStorageError
from lake.settings import Settings

pytestmark = pytest.mark.slow


def test_round_trip_keeps_every_record_and_tombstones(broker) -> None:
    records = [("feedback.crm", f"crm-{i}".encode()) for i in range(300)] + \
              [("feedback.app", f"app-{i}".encode()) for i in range(20)] + [("feedback.app", None)]
    assert kafka_io.produce(broker.bootstrap, records) == len(records)
    got = kafka_io.consume(broker.bootstrap, ["feedback.crm", "feedback.app"], max_idle_s=1.5)
    assert sorted((r.topic, r.value or b"") for r in got) == sorted((t, v or b"") for t, v in records)
    positions = {(r.topic, r.partition, r.offset) for r in got}
    assert len(positions) == len(records)


def test_group_consumer_commits_what_it_read(broker) -> None:
    kafka_io.produce(broker.bootstrap, [("feedback.web", b"a"), ("feedback.web", b"b")])
    assert len(kafka_io.consume(broker.bootstrap, ["feedback.web"], group_id="readers", max_idle_s=1.0)) == 2
    kafka_io.produce(broker.bootstrap, [("feedback.web", b"c")])
    assert [r.value for r in kafka_io.consume(broker.bootstrap, ["feedback.web"], group_id="readers",
                                              max_idle_s=1.0)] == [b"c"]


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
    assert broker_mod.bootstrap_servers(replace(settings, bootstrap_servers="kafka:9092")) == "kafka:9092"
    with pytest.raises(BrokerNotRunningError, match="reasonlake up"):
        broker_mod.bootstrap_servers(settings)


def test_unknown_storage_is_refused(settings: Settings) -> None:
    with pytest.raises(UnsupportedStorageError, match="memory"):
        broker_mod.start(replace(settings, broker_storage="postgres"))
