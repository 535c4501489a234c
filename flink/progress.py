"""Progress files: how a job's sink subtasks tell the driver what they did (pure, no Flink).

Each subtask writes ``<progress_dir>/progress-<subtask>.json`` atomically: when it opens, when
its first pending record arrives, after every commit, and at most once a second otherwise. The
driver reads them to print progress and to decide the job is idle: every subtask reported,
nothing pending, no record the broker is known to hold left unread, and no record arrived for
``idle_s`` (longer before the first record).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Progress:
    run_id: str
    subtask: int
    started_at: float  # epoch seconds when the subtask opened
    updated_at: float
    last_record_at: float | None = None  # epoch seconds of the last record received
    pending: int = 0  # records received but not yet committed
    records_seen: int = 0
    duplicates_skipped: int = 0  # already in the table (replay), not written again
    counts: Mapping[str, int] = field(default_factory=dict)  # e.g. accepted / rejected / alerts
    positions: Mapping[str, int] = field(default_factory=dict)  # "topic#partition" -> highest offset done

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "counts": dict(self.counts), "positions": dict(self.positions)})

    @classmethod
    def from_json(cls, text: str) -> Progress:
        return cls(**json.loads(text))


def position_key(topic: str, partition: int) -> str:
    """A partition's key in :attr:`Progress.positions` (JSON keys are strings); :func:`totals` parses it."""
    return f"{topic}#{partition}"


def progress_path(progress_dir: Path, subtask: int) -> Path:
    return progress_dir / f"progress-{subtask}.json"


def write_progress(progress_dir: Path, progress: Progress) -> None:
    """Atomic write (readers never see half a file)."""
    progress_dir.mkdir(parents=True, exist_ok=True)
    path = progress_path(progress_dir, progress.subtask)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(progress.to_json())
    os.replace(tmp, path)


def read_progress(progress_dir: Path, run_id: str | None = None) -> list[Progress]:
    """The progress of every subtask of run ``run_id`` (files of other runs are ignored); of any run when
    ``run_id`` is None (what the last run, or the one still running, left). Unreadable files are skipped."""
    out: list[Progress] = []
    for path in sorted(progress_dir.glob("progress-*.json")):
        try:
            p = Progress.from_json(path.read_text())
        except (OSError, ValueError, TypeError):
            continue
        if run_id is None or p.run_id == run_id:
            out.append(p)
    return out


def clear_progress(progress_dir: Path) -> None:
    for pattern in ("progress-*", "failure-*"):
        for path in progress_dir.glob(pattern):
            path.unlink(missing_ok=True)


def record_failure(progress_dir: Path, run_id: str, subtask: int, exc: BaseException) -> None:
    """What made a subtask fail, in one line, for the driver to say when the job fails for good (Flink's
    own message is lost once the local mini-cluster shut down). Best effort: never raises."""
    what = " ".join(str(exc).split())[:300]
    try:
        progress_dir.mkdir(parents=True, exist_ok=True)
        (progress_dir / f"failure-{subtask}.json").write_text(
            json.dumps({"run_id": run_id, "error": f"{type(exc).__name__}: {what}" if what else type(exc).__name__})
        )
    except OSError:  # e.g. the very disk that is full
        pass


def read_failures(progress_dir: Path, run_id: str) -> list[str]:
    """The one-line causes :func:`record_failure` wrote for run ``run_id``."""
    out = []
    for path in sorted(progress_dir.glob("failure-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("run_id") == run_id:
            out.append(str(data.get("error")))
    return out


@dataclass(frozen=True)
class Totals:
    subtasks: int
    records_seen: int
    pending: int
    duplicates_skipped: int
    counts: Mapping[str, int]
    last_activity_at: float | None  # latest of every subtask's open and last record
    positions: Mapping[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> highest done

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))


def totals(progress: Iterable[Progress]) -> Totals:
    items = list(progress)
    counts: dict[str, int] = {}
    for p in items:
        for k, v in p.counts.items():
            counts[k] = counts.get(k, 0) + int(v)
    activity = [t for p in items for t in (p.started_at, p.last_record_at) if t is not None]
    positions: dict[tuple[str, int], int] = {}
    for p in items:
        for key, offset in p.positions.items():
            topic, _, partition = key.rpartition("#")
            positions[(topic, int(partition))] = max(positions.get((topic, int(partition)), -1), int(offset))
    return Totals(
        subtasks=len(items),
        records_seen=sum(p.records_seen for p in items),
        pending=sum(p.pending for p in items),
        duplicates_skipped=sum(p.duplicates_skipped for p in items),
        counts=counts,
        last_activity_at=max(activity) if activity else None,
        positions=positions,
    )


def unread(ends: Mapping[tuple[str, int], int], done: Mapping[tuple[str, int], int]) -> int:
    """Records before each partition's end offset (``ends``) after its highest offset ``done`` (-1 where a
    partition has none). With the embedded broker's ends, lower bounds, so is the result: never too many."""
    return sum(max(0, end - done.get(tp, -1) - 1) for tp, end in ends.items())


# More quiet time idle needs while a subtask never reported (one no record reached may never open: a keyed
# operator at parallelism 4 with three keys), and while fewer records than the caller expects were seen or
# the broker holds records the job has not read (the embedded broker can be slow to serve a partition's
# first fetch under load; quiet alone would stop too early). Bounded, so a wrong count cannot hang a run.
UNOPENED_GRACE_S = 30.0
MIN_RECORDS_WAIT_S = 120.0


def is_idle(
    t: Totals,
    now: float,
    idle_s: float,
    first_record_wait_s: float = 0.0,
    *,
    all_open: bool = True,
    min_records: int = 0,
    behind: bool = False,
) -> bool:
    """Nothing is pending and nothing arrived for ``idle_s`` seconds, plus :data:`UNOPENED_GRACE_S` while
    some subtask never reported (``all_open`` false) or :data:`MIN_RECORDS_WAIT_S` while fewer than
    ``min_records`` records were seen or records known on the broker are unread (``behind``); the larger.

    Before the first record the quiet time is at least ``first_record_wait_s``: a Kafka source's
    group join and Tansu's first fetch from s3 storage can take longer than a short idle time."""
    quiet = idle_s + max(
        0.0 if all_open else UNOPENED_GRACE_S,
        0.0 if t.records_seen >= min_records and not behind else MIN_RECORDS_WAIT_S,
    )
    limit = quiet if t.records_seen else max(quiet, first_record_wait_s)
    return t.pending == 0 and t.last_activity_at is not None and now - t.last_activity_at >= limit


class ProgressReporter:
    """Keeps one subtask's :class:`Progress` and writes it when it matters (see module doc)."""

    def __init__(
        self,
        progress_dir: Path,
        run_id: str,
        subtask: int,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dir = progress_dir
        self._clock = clock
        self._min_interval_s = min_interval_s
        now = clock()
        self.state = Progress(run_id=run_id, subtask=subtask, started_at=now, updated_at=now)
        self._written_at = float("-inf")
        self.write(force=True)

    def update(self, force: bool = False, **changes) -> None:
        self.state = replace(self.state, **changes)
        self.write(force)

    def failed(self, exc: BaseException) -> None:
        record_failure(self._dir, self.state.run_id, self.state.subtask, exc)

    def write(self, force: bool = False) -> None:
        now = self._clock()
        if force or now - self._written_at >= self._min_interval_s:
            self.state = replace(self.state, updated_at=now)
            write_progress(self._dir, self.state)
            self._written_at = now
