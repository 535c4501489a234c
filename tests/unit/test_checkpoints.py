"""The jobs' Flink state on disk: which saved state the alert job restores, and which folders of stopped
ingest runs go (``flink.checkpoints``), on folders laid out as Flink writes them."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from flink.checkpoints import latest_state, prune_stopped

JOB = "8e51150064af08992a17ddcb4cde47de"  # a Flink job id, as a run's folder is named


def aged(path: Path, seconds: float) -> None:
    """Every file and folder under ``path`` (and itself) last written ``seconds`` ago."""
    stamp = time.time() - seconds
    for p in [*path.rglob("*"), path]:
        os.utime(p, (stamp, stamp))


def job_folder(root: Path, job_id: str, checkpoint: bytes | None) -> Path:
    """A job's checkpoint folder: empty ``shared``/``taskowned`` as a stopped run leaves them, and
    ``chk-1`` with ``checkpoint`` when the run was killed."""
    folder = root / job_id
    for name in ("shared", "taskowned"):
        (folder / name).mkdir(parents=True)
    if checkpoint is not None:
        (folder / "chk-1").mkdir()
        (folder / "chk-1" / "_metadata").write_bytes(checkpoint)
    return folder


def test_a_restart_picks_the_newest_savepoint_or_checkpoint_and_prunes_older_ones(tmp_path) -> None:
    root = tmp_path / "alerts"
    assert latest_state(root.as_uri()) is None
    made = []
    for name in ("job-a/chk-3", "savepoints/savepoint-1", "job-b/chk-9"):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "_metadata").write_bytes(b"x")
        stamp = time.time() - 100 + len(made)
        os.utime(folder / "_metadata", (stamp, stamp))
        made.append(folder)
    assert latest_state(root.as_uri()) == made[-1].as_uri()
    assert not made[0].exists() and made[1].exists()  # the two newest are kept
    assert latest_state("s3://bucket/checkpoints/alerts") is None  # not scanned: restored only by path


def test_what_stopped_runs_left_goes_once_a_day_idle_and_nothing_else_does(tmp_path) -> None:
    root = tmp_path / "checkpoints"
    killed = job_folder(root, JOB, b"a pending batch: jane@example.com wrote ...")
    stopped = job_folder(root, "1af6475e46ea792d811f336352801426", None)
    running = job_folder(root, "d495ac4182467133807a370f2cbfa08f", b"its latest checkpoint")
    # the alert job's state folder: a run's retained checkpoint, a run whose state latest_state deleted
    # (an empty job folder), and the savepoint it stopped with
    alerts = job_folder(root / "alerts", "e01443daaa2327bb9ae9c8577d6fcdc2", b"the alert job's saved state")
    emptied = job_folder(root / "alerts", "47a4b7d34241ba9b5c93b1c7c5b82f35", None)
    savepoint = root / "alerts" / "savepoints" / "savepoint-47a4b7-80169220ad50"
    savepoint.mkdir(parents=True)
    (savepoint / "_metadata").write_bytes(b"state")
    other = root / "not-a-job"
    other.mkdir()
    for folder in (killed, stopped, running, alerts, emptied, savepoint.parent, other):
        aged(folder, 2 * 86400)
    aged(running / "chk-1", 5)  # a running job renewed its checkpoint seconds ago

    assert prune_stopped(root.as_uri(), now=time.time() - 3 * 86400) == 0  # three days ago, all were fresh
    assert prune_stopped(str(root)) == 3
    assert not killed.exists() and not stopped.exists() and not emptied.exists()
    assert running.exists() and alerts.exists() and savepoint.exists() and other.exists()
    assert prune_stopped(root.as_uri(), idle_for=timedelta(seconds=1)) == 1 and not running.exists()
    assert alerts.exists() and savepoint.exists()  # state a restart may restore: latest_state's to prune


def test_pruning_skips_what_it_cannot_scan(tmp_path) -> None:
    assert prune_stopped("s3://bucket/checkpoints") == 0
    assert prune_stopped((tmp_path / "never-created").as_uri()) == 0
