"""Exactly-once under SIGKILL: the real ingest job in a subprocess, killed (JVM and Python workers
included) at seeded random points three times, then run to idle. Every record lands exactly once
in its table, identified both by message_id and by (topic, partition, offset); the checkpoint folders
the runs left are deleted by ``maintain`` a day later."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from flink import kafka_io
from flink.checkpoints import local_dir
from lake import catalog as lake_catalog
from lake.settings import Settings
from reasonlake.cli import cli
from tests.support.feedback import feedback_records
from tests.support.paths import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

MESSAGES = 20_000
INVALID_EVERY = 97
KILLS = 3
MAX_PER_RUN = MESSAGES // (KILLS + 1)  # each killed run commits at most about this many (plus a batch)
SEED = 20260311


def corpus() -> list[tuple[str, bytes]]:
    return feedback_records(0, MESSAGES, INVALID_EVERY)


def start_job(settings: Settings, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "reasonlake",
        "ingest",
        "--until-idle",
        "4",
        "--batch-size",
        "1500",
        "--flush-interval",
        "1",
    ]
    with open(log, "ab") as fh:
        return subprocess.Popen(
            cmd, cwd=REPO, env=settings.child_env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the job's process group and every descendant (the Flink JVM, the Python workers)."""
    tree = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    psutil.wait_procs([p for p in map(_proc, tree) if p is not None], timeout=30)


def _proc(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def committed_total(settings: Settings) -> int:
    """Records covered by the committed offsets of raw.feedback (cheap: table properties only)."""
    cat = lake_catalog.load(settings)
    return sum(o + 1 for o in lake_catalog.committed_offsets(lake_catalog.ensure_table(cat, "raw.feedback")).values())


def test_sigkill_three_times_then_everything_exactly_once(settings, broker, tmp_path) -> None:
    records = corpus()
    kafka_io.produce(broker.bootstrap, records)
    produced = kafka_io.consume(broker.bootstrap, sorted({t for t, _ in records}), max_idle_s=3.0)
    assert len(produced) == MESSAGES
    valid = {
        (r.topic, r.partition, r.offset): json.loads(r.value)["message_id"]
        for r in produced
        if not r.value.startswith(b"not json")
    }
    invalid = {(r.topic, r.partition, r.offset) for r in produced if r.value.startswith(b"not json")}
    assert len(invalid) == len(range(0, MESSAGES, INVALID_EVERY))

    rng = random.Random(SEED)
    log = tmp_path / "ingest.log"
    kills_at = []
    for _ in range(KILLS):
        before = committed_total(settings)
        proc = start_job(settings, log)
        deadline = time.monotonic() + 120
        while committed_total(settings) <= before:  # kill only once this run has committed something
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the job committed nothing in 120 s"
            time.sleep(0.2)
        # then a random moment later, but before this run alone could drain the topic
        kill_after = time.monotonic() + rng.uniform(0.0, 2.5)
        while time.monotonic() < kill_after and committed_total(settings) - before < MAX_PER_RUN:
            time.sleep(0.05)
        kill_tree(proc)
        kills_at.append(committed_total(settings))
    assert kills_at[-1] < MESSAGES, f"every kill should land mid-stream: {kills_at}"

    proc = start_job(settings, log)
    assert proc.wait(timeout=240) == 0, log.read_text()[-3000:]

    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(
        cat, "raw.feedback", selected_fields=("message_id", "kafka_topic", "kafka_partition", "kafka_offset")
    ).to_pylist()
    positions = Counter((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in raw)
    assert positions.most_common(1)[0][1] == 1, "a record was written twice"
    assert set(positions) == set(valid)
    ids = Counter(r["message_id"] for r in raw)
    assert ids.most_common(1)[0][1] == 1 and set(ids) == set(valid.values())
    assert all(valid[(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"])] == r["message_id"] for r in raw)

    rejected = lake_catalog.read(
        cat, "raw.feedback_rejected", selected_fields=("reason", "kafka_topic", "kafka_partition", "kafka_offset")
    ).to_pylist()
    rejected_positions = Counter((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in rejected)
    assert rejected_positions.most_common(1)[0][1] == 1 and set(rejected_positions) == invalid
    assert {r["reason"] for r in rejected} == {"not_json"}
    print(f"committed records at the kills: {kills_at}")

    # every run left its checkpoint folder (the killed ones their last checkpoint); a day later, maintain
    # deletes them all: ingestion resumes from the offsets in Iceberg, never from them
    checkpoints = local_dir(settings.checkpoints_uri)
    assert checkpoints is not None
    runs = [p for p in checkpoints.iterdir() if p.is_dir()]
    assert len(runs) == KILLS + 1, runs
    day_ago = time.time() - 86400 - 60
    for path in [q for run in runs for q in run.rglob("*")] + runs:
        os.utime(path, (day_ago, day_ago))
    result = CliRunner().invoke(cli, ["--home", str(settings.home), "maintain"])
    assert f"checkpoints: {KILLS + 1} folder(s) of stopped Flink runs deleted" in result.output, result.output
    assert not any(checkpoints.iterdir())


def test_failover_restores_pending_batches_from_the_checkpoint(settings, broker) -> None:
    """An exception inside the running job (not a kill): Flink restarts it from its last checkpoint,
    which holds the source's position *and* the batch pending in the Java batcher. Records are
    produced while the job runs, so batches close on time and checkpoints (every 0.5 s) land while
    one is pending: a batch lost from state would be missing here, a replay not skipped doubled."""
    import threading
    from dataclasses import replace

    from flink.ingest_job import run_ingest
    from flink.jobconfig import BatchPolicy, IngestJobConfig

    n = 6_000
    records = corpus()[:n]
    config = IngestJobConfig.from_settings(
        settings, batch=BatchPolicy(batch_size=100_000, flush_interval_s=1.5), fail_after_commits=2
    )
    config = replace(config, runtime=replace(config.runtime, checkpoint_interval_s=0.5, restart_delay_s=0.5))
    kafka_io.produce(broker.bootstrap, records[:100])  # the topics exist before the job starts

    def trickle() -> None:  # ~1,500 msg/s for ~4 s while the job runs
        time.sleep(6.0)
        for start in range(100, n, 300):
            kafka_io.produce(broker.bootstrap, records[start : start + 300])
            time.sleep(0.2)

    producer = threading.Thread(target=trickle, daemon=True)
    producer.start()
    summary = run_ingest(settings, config, until_idle_s=5.0, verbose=False)
    producer.join(timeout=60)
    assert (config.progress_dir / f"injected-failure-{config.run_id}").exists(), "the failure was not injected"

    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).to_pylist()
    ids = Counter(r["message_id"] for r in raw)
    expected = {json.loads(v)["message_id"] for _, v in records if not v.startswith(b"not json")}
    assert ids.most_common(1)[0][1] == 1, "a record was written twice"
    assert set(ids) == expected, f"{len(expected - set(ids))} records lost"
    rejected = lake_catalog.read(cat, "raw.feedback_rejected", selected_fields=("kafka_offset",)).num_rows
    assert rejected == sum(1 for _, v in records if v.startswith(b"not json"))
    print(f"failover run: {summary}")
