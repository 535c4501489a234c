"""What a job's driver loop (flink/runtime.py) watches besides the job: records the broker holds that a run has
still to read (:func:`broker_backlog`, :class:`BacklogWatch`) and a service the job needs going away and coming
back (:class:`OutageWatch`). Plain Python: no PyFlink."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from flink import kafka_io
from flink import progress as progress_mod
from flink.jobconfig import SourceConfig

log = logging.getLogger(__name__)


def broker_backlog(
    source: SourceConfig, start: Mapping[tuple[str, int], int], *, known_only: bool = False
) -> Callable[[progress_mod.Totals], int]:
    """A ``backlog`` for :func:`run_until_idle`: the records the broker holds on ``source``'s topics that the
    run has still to read, from where it started (``start``: the first offset it reads per partition) and
    past what its subtasks report done; a lower bound with the embedded broker. Partitions in neither are
    counted from offset 0, or left out with ``known_only`` (a run restored from saved state, whose every
    starting offset is not known here)."""

    def count(totals: progress_mod.Totals) -> int:
        ends = {
            tp: end
            for tp, end in kafka_io.end_offsets(source.bootstrap_servers, source.topic_pattern).items()
            if not known_only or tp in start or tp in totals.positions
        }
        done = {tp: max(start.get(tp, 0) - 1, totals.positions.get(tp, -1)) for tp in ends}
        return progress_mod.unread(ends, done)

    return count


class BacklogWatch:
    """Whether the broker holds records a job has not read (asked at most every ``every_s``); says once."""

    def __init__(self, job_name: str, count: Callable[[progress_mod.Totals], int] | None, every_s: float = 2.0) -> None:
        self.job_name, self.count, self.every_s = job_name, count, every_s
        self.checked, self.behind, self.said = float("-inf"), False, False

    def check(self, totals: progress_mod.Totals, now: float) -> bool:
        if self.count is None or now - self.checked < self.every_s:
            return self.behind
        self.checked = now
        try:
            unread = self.count(totals)
        except Exception as exc:
            log.info("%s: could not count unread records (%s)", self.job_name, exc)
            unread = 0
        self.behind = unread > 0
        if self.behind and not self.said:
            self.said = True
            print(
                f"reasonlake: {self.job_name}: the broker holds at least {unread} record(s) not read yet; waiting "
                f"for them (at most {progress_mod.MIN_RECORDS_WAIT_S:.0f} s more)",
                flush=True,
            )
        return self.behind


class OutageWatch:
    """Says once when a service a running job needs goes away and when it is back (one line each)."""

    def __init__(self, job_name: str, probe: Callable[[], str | None] | None, every_s: float = 2.0) -> None:
        self.job_name, self.probe, self.every_s = job_name, probe, every_s
        self.since: float | None = None  # the outage began (None: no outage)
        self.ended: float = float("-inf")  # the last outage ended
        self.checked = float("-inf")

    def check(self, now: float) -> None:
        if self.probe is None or now - self.checked < self.every_s:
            return
        self.checked = now
        problem = self.probe()
        if problem and self.since is None:
            self.since = now
            print(
                f"reasonlake: {self.job_name}: {problem}; the job waits and resumes by itself once it is back "
                "(`reasonlake up` restarts the embedded broker)",
                flush=True,
            )
        elif not problem and self.since is not None:
            print(f"reasonlake: {self.job_name}: back after {now - self.since:.0f} s; resuming", flush=True)
            self.since, self.ended = None, now

    def quiet_for(self, now: float) -> float:
        """Seconds since the last outage ended (0 during one, infinite if there was none)."""
        return 0.0 if self.since is not None else now - self.ended
