"""The ingest job on a real standalone Flink cluster (pyflink's jobmanager.sh/taskmanager.sh, started by
``services.flink_cluster``): parallelism 4 over two TaskManagers, one of them SIGKILLed mid-ingestion.
Flink restarts the tasks on the survivor from the last checkpoint; every record lands exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flink import kafka_io
from lake import catalog as lake_catalog
from lake.settings import Settings
from services import flink_cluster
from tests.support.feedback import feedback_records
from tests.support.paths import REPO

pytestmark = [pytest.mark.scaleout, pytest.mark.slow, pytest.mark.timeout(600)]

MESSAGES = 12_000
INVALID_EVERY = 89


@pytest.fixture
def cluster(settings: Settings) -> Iterator[flink_cluster.FlinkCluster]:
    started = flink_cluster.start(settings, taskmanagers=2, slots=4)
    try:
        yield started
    finally:
        flink_cluster.stop(settings)


def split_positions(produced) -> tuple[set, set]:
    """The Kafka positions of the valid records and of the malformed ones."""
    invalid = {(r.topic, r.partition, r.offset) for r in produced if r.value.startswith(b"not json")}
    return {(r.topic, r.partition, r.offset) for r in produced} - invalid, invalid


def assert_exactly_once(settings: Settings, valid: set, invalid: set) -> None:
    """Every valid record's Kafka position once in raw.feedback, every invalid one once in the rejected table."""
    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(cat, "raw.feedback", selected_fields=("kafka_topic", "kafka_partition", "kafka_offset"))
    positions = Counter((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in raw.to_pylist())
    assert positions.most_common(1)[0][1] == 1, "a record was written twice"
    assert set(positions) == valid, f"{len(valid - set(positions))} records lost"
    rejected = lake_catalog.read(
        cat, "raw.feedback_rejected", selected_fields=("kafka_topic", "kafka_partition", "kafka_offset")
    ).to_pylist()
    rejected_positions = Counter((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in rejected)
    assert rejected_positions.most_common(1)[0][1] == 1 and set(rejected_positions) == invalid


def rest(cluster: flink_cluster.FlinkCluster, path: str) -> dict:
    with urllib.request.urlopen(f"http://{cluster.address}{path}", timeout=10) as response:
        return json.load(response)


def committed_total(settings: Settings) -> int:
    cat = lake_catalog.load(settings)
    return sum(o + 1 for o in lake_catalog.committed_offsets(lake_catalog.ensure_table(cat, "raw.feedback")).values())


def test_a_taskmanager_killed_during_ingestion_loses_and_doubles_nothing(
    settings: Settings, broker, cluster: flink_cluster.FlinkCluster, tmp_path: Path
) -> None:
    # one cluster start per run (about 20 s): its idempotency is checked here too
    assert len(cluster.taskmanager_pids) == 2
    assert flink_cluster.start(settings, taskmanagers=2, slots=4) == cluster  # nothing new started
    overview = rest(cluster, "/overview")
    assert overview["taskmanagers"] == 2 and overview["slots-total"] == 8
    for pid in cluster.taskmanager_pids:  # what their Python workers hand on: a JDK, not an empty JAVA_HOME
        environ = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in v)
        assert (Path(environ["JAVA_HOME"]) / "bin" / "java").exists(), environ.get("JAVA_HOME")

    records = feedback_records(0, MESSAGES, INVALID_EVERY)
    kafka_io.produce(broker.bootstrap, records)
    produced = kafka_io.consume(broker.bootstrap, sorted({t for t, _ in records}), max_idle_s=3.0)
    valid, invalid = split_positions(produced)
    assert len(produced) == MESSAGES

    on_cluster = settings.model_copy(update={"flink_address": cluster.address, "flink_parallelism": 4})
    log = tmp_path / "ingest.log"
    cmd = [sys.executable, "-m", "reasonlake", "ingest", "--until-idle", "8", "--batch-size", "500"]
    cmd += ["--flush-interval", "1"]
    with open(log, "wb") as fh:
        job = subprocess.Popen(cmd, cwd=REPO, env=on_cluster.child_env(), stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while committed_total(settings) == 0:  # the job runs and has committed a first batch
            assert job.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the job committed nothing in 240 s"
            time.sleep(0.2)
        running = [j for j in rest(cluster, "/jobs/overview")["jobs"] if j["state"] == "RUNNING"]
        assert len(running) == 1
        job_id = running[0]["jid"]
        # subtasks on both TaskManagers: parallelism 4 spread over the two
        hosts = set()
        for vertex in rest(cluster, f"/jobs/{job_id}")["vertices"]:
            for tm in rest(cluster, f"/jobs/{job_id}/vertices/{vertex['id']}/taskmanagers")["taskmanagers"]:
                hosts.add(tm["taskmanager-id"])
        assert len(hosts) == 2, f"the job's subtasks ran on {hosts}"
        at_kill = committed_total(settings)
        assert at_kill < MESSAGES, "the job drained the topics before the kill"
        flink_cluster.kill_taskmanager(settings, cluster.taskmanager_pids[0])
        assert job.wait(timeout=420) == 0, log.read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
    restarts = rest(cluster, f"/jobs/{job_id}")
    assert restarts["state"] in {"FINISHED", "CANCELED"}
    exceptions = rest(cluster, f"/jobs/{job_id}/exceptions")
    assert exceptions.get("exceptionHistory", {}).get("entries"), "Flink saw no failure: the kill landed nowhere"

    assert_exactly_once(settings, valid, invalid)

    # a second job on the same cluster: the survivor's task JVM already hosts Python (thread mode)
    more = feedback_records(MESSAGES, 600, INVALID_EVERY)
    kafka_io.produce(broker.bootstrap, more)
    produced = kafka_io.consume(broker.bootstrap, sorted({t for t, _ in records}), max_idle_s=3.0)
    valid, invalid = split_positions(produced)
    assert len(produced) == MESSAGES + 600
    again = subprocess.run(cmd, cwd=REPO, env=on_cluster.child_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert_exactly_once(settings, valid, invalid)
    assert flink_cluster.stop(settings)
    assert flink_cluster.running(settings) is None
    assert not flink_cluster.stop(settings)  # idempotent
    print(f"TaskManager killed at {at_kill} committed records; all {len(produced)} landed once")
