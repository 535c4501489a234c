"""The jobs' Flink state on disk (no PyFlink): what a run restores, and what stopped runs leave.

Flink writes a job's checkpoints under ``<checkpoint dir>/<job id>/`` (``chk-N/``, ``shared/``,
``taskowned/``), a new job id for every run:

- the alert job keeps its state in its own folder (``<checkpoints>/alerts/``: retained checkpoints and
  the savepoints it stops with) and restores the newest one (:func:`latest_state`, which deletes older
  ones and leaves their runs' job folders empty);
- the ingest job never restores a checkpoint across runs (it resumes from the Kafka offsets Iceberg
  holds), yet every run leaves its folder behind: empty when it stopped cleanly, with its last checkpoint
  when it was killed, and that checkpoint may hold the batch it had not committed yet, original texts
  included.

:func:`prune_stopped` deletes what stopped runs left once nothing has been written there for a day (a
running job writes one checkpoint every few seconds).

Only local folders (a ``file://`` URI or a path) are scanned; other file systems are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

STOPPED_AFTER = timedelta(days=1)  # a folder nothing was written to for this long belongs to a stopped run
_JOB_ID = re.compile(r"[0-9a-f]{32}")  # how Flink names a job's folder


def local_dir(uri: str) -> Path | None:
    """The folder a ``file://`` URI or a plain path names; None for another file system."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(parsed.path if parsed.scheme else uri)


def latest_state(state_dir: str, keep: int = 2) -> str | None:
    """The newest savepoint or retained checkpoint (a folder with ``_metadata``) under ``state_dir``
    (a ``file://`` URI or a path; other file systems: None), removing all but the newest ``keep``."""
    root = local_dir(state_dir)
    if root is None:
        return None
    states = sorted((m.parent for m in root.glob("**/_metadata")), key=lambda d: (d / "_metadata").stat().st_mtime)
    for old in states[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return states[-1].absolute().as_uri() if states else None


def prune_stopped(checkpoint_dir: str, idle_for: timedelta = STOPPED_AFTER, now: float | None = None) -> int:
    """Delete the folders stopped runs left under ``checkpoint_dir`` once nothing was written there for
    ``idle_for``: every job folder directly under it (the ingest runs', never restored), and the job
    folders in a job's own state folder (the alert job's ``alerts/``) that hold no state to restore any
    more (:func:`latest_state` keeps the newest). Returns how many were deleted (0 for a file system
    other than a local one)."""
    root = local_dir(checkpoint_dir)
    if root is None or not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - idle_for.total_seconds()
    stale = []
    for folder in (f for f in root.iterdir() if f.is_dir()):
        if _JOB_ID.fullmatch(folder.name):
            stale.append(folder)
        else:
            stale += [f for f in _job_folders(folder) if not any(f.glob("**/_metadata"))]
    deleted = 0
    for folder in stale:
        if _last_written(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            deleted += not folder.exists()
    return deleted


def _job_folders(folder: Path) -> list[Path]:
    return [f for f in folder.iterdir() if f.is_dir() and _JOB_ID.fullmatch(f.name)]


def _last_written(folder: Path) -> float:
    """The newest modification time of ``folder`` and everything in it (a checkpoint renews its folder)."""
    newest = folder.stat().st_mtime
    for parent, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            try:
                newest = max(newest, os.stat(os.path.join(parent, name)).st_mtime)
            except FileNotFoundError:  # a checkpoint being replaced by the next one
                continue
    return newest
