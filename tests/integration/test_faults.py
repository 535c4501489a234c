"""The fault matrix (README.md, "Failure modes"): each fault ends with nothing lost once it is gone, and a
clear message while it lasts. On the real parts, except the alert job's broker fault, which runs the real
broker and Flink job with stand-ins for the model and the online store (``tests/support/alert_fakes.py``).

* the broker killed (SIGKILL) during ingestion, then restarted: the running job says so, waits,
  reconnects to the restarted broker (same port) and ingests everything exactly once;
* the broker killed during alerting, then restarted: every message alerted once;
* the SQLite catalog held locked by another writer: commits retry, then end with a clear error
  and no partial commit; once the lock is gone the same commit goes through;
* the warehouse's file system full (a 4 MB tmpfs): a commit, and ``reasonlake ingest``, fail in one line
  with nothing half-written; once space is back everything lands once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyiceberg.expressions import EqualTo

from flink import kafka_io
from lake import catalog as lake_catalog
from lake.settings import Settings
from services import broker as broker_mod
from tests.support.feedback import feedback_records
from tests.support.paths import REPO


def records(start: int, n: int) -> list[tuple[str, bytes]]:
    return feedback_records(start, n, invalid_every=101)


def committed_total(settings: Settings) -> int:
    cat = lake_catalog.load(settings)
    return sum(o + 1 for o in lake_catalog.committed_offsets(lake_catalog.ensure_table(cat, "raw.feedback")).values())


def wait_for(predicate, timeout_s: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s" + (
            f"\n{log.read_text()[-3000:]}" if log and log.exists() else ""
        )
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_broker_killed_during_ingestion_then_restarted_loses_and_doubles_nothing(settings, broker, tmp_path) -> None:
    first, second = records(0, 6_000), records(6_000, 3_000)
    kafka_io.produce(broker.bootstrap, first)
    log = tmp_path / "ingest.log"
    cmd = [sys.executable, "-m", "reasonlake", "ingest", "--until-idle", "5", "--batch-size", "500"]
    cmd += ["--flush-interval", "1"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=settings.child_env(), stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: committed_total(settings) > 0, 120, "the job committed something", log)
        os.killpg(broker.pid, signal.SIGKILL)  # the broker dies mid-run (its storage keeps what it acknowledged)
        wait_for(lambda: "does not answer" in log.read_text(), 30, "the job said the broker is gone", log)
        assert proc.poll() is None, "the job should wait for the broker, not end"
        time.sleep(5)
        restarted = broker_mod.start(settings)
        assert restarted.port == broker.port, "a restarted broker keeps its address"
        kafka_io.produce(restarted.bootstrap, second)
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "back after" in text, text[-3000:]
    print(text[-2000:])

    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).to_pylist()
    ids = Counter(r["message_id"] for r in raw)
    expected = {json.loads(v)["message_id"] for _, v in first + second if not v.startswith(b"not json")}
    assert_once(ids, expected)
    rejected = lake_catalog.read(cat, "raw.feedback_rejected", selected_fields=("reason",)).num_rows
    assert rejected == sum(v.startswith(b"not json") for _, v in first + second)


def assert_once(ids: Counter, expected: set[str]) -> None:
    """Every expected message id written once, and nothing else: says how many are missing, doubled, extra."""
    missing, doubled = sorted(expected - set(ids)), sorted(i for i, n in ids.items() if n > 1)
    extra = sorted(set(ids) - expected)
    assert not (missing or doubled or extra), (
        f"of {len(expected)}: {len(missing)} missing (e.g. {missing[:3]}), {len(doubled)} doubled "
        f"(e.g. {doubled[:3]}), {len(extra)} never sent (e.g. {extra[:3]})"
    )


def crash(i: int) -> tuple[str, bytes]:
    return "feedback.crm", json.dumps(
        {
            "message_id": f"c{i}",
            "source": "crm",
            "text": f"crash number {i}, awful",
            "created_at": "2026-01-05T10:00:00Z",
        }
    ).encode()


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_broker_killed_during_alerting_then_restarted_alerts_every_message_once(
    settings, broker, monkeypatch, capsys
) -> None:
    """The alert job with file-backed stand-ins of the model and the online store (the fault here is
    the broker; the real model and store run in tests/e2e/test_alert_continuity.py)."""
    from dataclasses import replace

    from flink import progress
    from flink.alert_job import run_alerts
    from flink.jobconfig import AlertHygiene, AlertJobConfig, BatchPolicy
    from lake.settings import ALERTS_TOPIC

    fakes = REPO / "tests" / "support" / "alert_fakes.py"
    monkeypatch.syspath_prepend(str(fakes.parent))
    import alert_fakes

    alert_fakes.TopicArtifact("v1", "2026-W01", {"crash": 0}, {0: "crashes"}).save(settings)
    reason = {"label": "app crashes", "rank": 1, "share": 0.5, "elected": True, "week": "2026-W01"}
    alert_fakes.write_features(
        settings, {"v1/0": {**reason, "model_version": "v1", "valid_until": "2099-01-01T00:00:00+00:00"}}
    )
    config = AlertJobConfig.from_settings(
        settings,
        micro_batch=BatchPolicy(batch_size=50, flush_interval_s=0.1),
        table_batch=BatchPolicy(batch_size=200, flush_interval_s=0.5),
        hygiene=AlertHygiene(max_alerts_per_reason=1_000_000, window_s=60.0),
        model_module="alert_fakes",
        lookup_module="alert_fakes",
        dissatisfaction_model=alert_fakes.write_dissatisfaction_model(settings.home / "dissatisfaction.json", 1),
    )
    config = replace(config, runtime=replace(config.runtime, python_files=(str(fakes),)))
    kafka_io.produce(broker.bootstrap, [crash(i) for i in range(3_000)])
    events: dict[str, object] = {}

    def fault() -> None:
        def classified() -> int:
            return progress.totals(progress.read_progress(config.progress_dir / "classify", config.run_id)).records_seen

        try:
            wait_for(lambda: classified() > 0, 120, "the alert job classified something")
            os.killpg(broker.pid, signal.SIGKILL)
            events["killed_after"] = classified()
            time.sleep(8)
            restarted = broker_mod.start(settings)
            events["same_port"] = restarted.port == broker.port
            kafka_io.produce(restarted.bootstrap, [crash(i) for i in range(3_000, 4_000)])
        except BaseException as exc:  # reported by the main thread
            events["error"] = exc

    thread = threading.Thread(target=fault, daemon=True)
    thread.start()
    summary = run_alerts(settings, config, until_idle_s=6.0)
    thread.join(timeout=60)
    assert "error" not in events, events
    out = capsys.readouterr().out
    assert "does not answer" in out and "back after" in out, out[-3000:]
    assert events["same_port"] and events["killed_after"] < 4_000, events

    rows = lake_catalog.read(
        lake_catalog.load(settings),
        "alerts.alerts",
        row_filter=EqualTo("outcome", "sent"),
        selected_fields=("message_id", "alert_id"),
    )
    ids = Counter(rows.column("message_id").to_pylist())
    missing = {f"c{i}" for i in range(4_000)} - set(ids)
    # every message was read once; the stand-in sentiment calls a few of them satisfied, or dissatisfied on too
    # close a call to alert
    unalerted = summary.counts["satisfied"] + summary.counts["unsure"]
    assert summary.messages == 4_000 and len(missing) == unalerted <= 10, (events, summary)
    assert ids.most_common(1)[0][1] == 1, "a message alerted twice"
    sent = {json.loads(r.value)["alert_id"] for r in kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=2)}
    assert sent == set(rows.column("alert_id").to_pylist()), "feedback.alerts and alerts.alerts disagree"
    assert summary.counts["sent"] == len(ids)


class CatalogLock:
    """Another writer holding the SQLite catalog's write lock (``BEGIN IMMEDIATE``) in a process of its own."""

    def __init__(self, db: Path) -> None:
        code = (
            "import sqlite3, sys, time\n"
            f"con = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "con.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == b"locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def test_a_catalog_locked_by_another_writer_is_retried_then_fails_clearly_without_a_partial_commit(tmp_path) -> None:
    from lake.errors import CatalogBusyError

    settings = Settings(home=tmp_path / "home", catalog_busy_timeout_s=3)
    settings.ensure_dirs()
    cat = lake_catalog.load(settings)
    table = lake_catalog.ensure_table(cat, "raw.feedback_rejected")
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    row = {"reason": "not_json", "detail": "d", "raw_value": b"x", "source": "crm", "kafka_topic": "feedback.crm"}
    row |= {"kafka_partition": 0, "kafka_offset": 0, "kafka_timestamp": now, "rejected_at": now}
    data = lake_catalog.to_arrow("raw.feedback_rejected", [row])

    lock = CatalogLock(settings.home / "catalog.db")
    try:
        started = time.monotonic()
        with pytest.raises(CatalogBusyError, match="another writer held the catalog locked"):
            lake_catalog.append(table, data, offsets={("feedback.crm", 0): 0})
        assert time.monotonic() - started >= 3  # it retried for the busy timeout
        # the CLI: one line, exit 4 (service unavailable)
        out = subprocess.run(
            [sys.executable, "-m", "reasonlake", "maintain"],
            cwd=REPO,
            env={**settings.child_env(), "REASONLAKE_CATALOG_BUSY_TIMEOUT_S": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 4, out.stderr
        [line] = [x for x in out.stderr.splitlines() if x.startswith("reasonlake:")]
        assert "catalog" in line and "locked" in line and "Traceback" not in out.stderr, out.stderr
        # a lock released while a commit waits: the commit goes through
        release = threading.Timer(2.0, lock.release)
        release.start()
        lake_catalog.append(table, data, offsets={("feedback.crm", 0): 0})
        release.join()
    finally:
        lock.release()
    table = lake_catalog.load(settings).load_table("raw.feedback_rejected")
    assert lake_catalog.committed_offsets(table) == {("feedback.crm", 0): 0}
    assert lake_catalog.read(lake_catalog.load(settings), "raw.feedback_rejected").num_rows == 1, "exactly once"
    assert len(table.snapshots()) == 1, "the failed attempts left no snapshot"


@pytest.fixture
def small_volume(tmp_path) -> Iterator[Path]:
    """A 4 MB tmpfs mounted for the test (root only; skipped with the reason where it cannot be mounted)."""
    mount = tmp_path / "small-volume"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}); README's failure modes document it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_warehouse_on_a_full_file_system_commits_nothing_then_everything_once_space_is_back(
    tmp_path, small_volume
) -> None:
    import random

    from reasonlake.errors import one_line

    settings = Settings(home=tmp_path / "home", catalog_warehouse=small_volume.as_uri())
    settings.ensure_dirs()
    table = lake_catalog.ensure_table(lake_catalog.load(settings), "raw.feedback_rejected")
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    rng = random.Random(7)

    def batch(start: int, n: int):  # incompressible payloads: the Parquet file is about n * 2 KB
        rows = [
            {"reason": "not_json", "detail": "d", "raw_value": rng.randbytes(2048), "source": "crm"}
            | {"kafka_topic": "feedback.crm", "kafka_partition": 0, "kafka_offset": i}
            | {"kafka_timestamp": now, "rejected_at": now}
            for i in range(start, start + n)
        ]
        return lake_catalog.to_arrow("raw.feedback_rejected", rows)

    lake_catalog.append(table, batch(0, 100), offsets={("feedback.crm", 0): 99})
    filler = small_volume / "filler"
    free = os.statvfs(small_volume).f_bavail * os.statvfs(small_volume).f_frsize
    filler.write_bytes(b"\0" * (free - 64 * 1024))  # 64 KB left
    with pytest.raises(OSError) as failed:
        lake_catalog.append(table, batch(100, 400), offsets={("feedback.crm", 0): 499})
    code, line = one_line(failed.value)
    assert code == 4 and "disk full" in line and "all or nothing" in line, line

    table = lake_catalog.load(settings).load_table("raw.feedback_rejected")
    assert lake_catalog.committed_offsets(table) == {("feedback.crm", 0): 99}, "no partial commit"
    assert len(table.snapshots()) == 1
    filler.unlink()  # space is back: the same batch commits, once
    lake_catalog.append(table, batch(100, 400), offsets={("feedback.crm", 0): 499})
    offsets = lake_catalog.read(lake_catalog.load(settings), "raw.feedback_rejected", selected_fields=("kafka_offset",))
    assert sorted(offsets.column("kafka_offset").to_pylist()) == list(range(500))


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_ingest_on_a_full_file_system_fails_in_one_line_then_ingests_everything_once(tmp_path, small_volume) -> None:
    """``reasonlake ingest`` end to end when its Flink job fails (every restart hits the full disk):
    one line and exit 4, no partial commit; once space is back the next run ingests everything once."""
    settings = Settings(home=tmp_path / "home", catalog_warehouse=small_volume.as_uri())
    settings.ensure_dirs()
    info = broker_mod.start(settings)
    try:
        lake_catalog.ensure_all(lake_catalog.load(settings))
        sent = records(0, 2_000)
        kafka_io.produce(info.bootstrap, sent)
        filler = small_volume / "filler"
        stat = os.statvfs(small_volume)
        filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 16 * 1024))
        cmd = [sys.executable, "-m", "reasonlake", "ingest", "--until-idle", "5", "--batch-size", "500"]
        failed = subprocess.run(cmd, cwd=REPO, env=settings.child_env(), capture_output=True, text=True, timeout=300)
        assert failed.returncode == 4, failed.stderr[-3000:]
        [line] = [x for x in failed.stderr.splitlines() if x.startswith("reasonlake:")]
        assert "Flink job" in line and "No space left on device" in line, failed.stderr[-3000:]
        assert "--debug" in line and "Traceback" not in failed.stderr, failed.stderr[-3000:]
        assert committed_total(settings) == 0, "no partial commit"

        filler.unlink()
        done = subprocess.run(cmd, cwd=REPO, env=settings.child_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        broker_mod.stop(settings)
    cat = lake_catalog.load(settings)
    ids = Counter(
        lake_catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).column("message_id").to_pylist()
    )
    expected = {json.loads(v)["message_id"] for _, v in sent if not v.startswith(b"not json")}
    assert_once(ids, expected)
