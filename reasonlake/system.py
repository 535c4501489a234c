"""The living system (``reasonlake run`` / ``status``): which services the supervisor runs
(:mod:`services.supervisor`) and what ``reasonlake status`` says about them.

* ``ingest``: the PyFlink ingest job (``reasonlake ingest``, until stopped);
* ``alerts``: the PyFlink alert job (``reasonlake alerts --wait-for-model``: before the first weekly
  run it waits for a promoted model);
* ``dagster-daemon``: schedules (weekly, daily maintenance) and sensors (ingest commits, closed weeks,
  notifications) on the home's Dagster instance;
* ``dagster-webserver``: the UI (unless ``--no-ui``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lake.settings import Settings
from reasonlake import REPO_ROOT
from services.supervisor import ServiceSpec


def specs(settings: Settings, ui_port: int | None) -> list[ServiceSpec]:
    """The services of the living system for ``settings`` (``ui_port`` None: no web UI)."""
    from reasonlake.weekly import dagster_home

    bin_dir, root = Path(sys.executable).parent, str(REPO_ROOT)
    dagster = {"DAGSTER_HOME": str(dagster_home(settings))}
    out = [
        ServiceSpec("ingest", (sys.executable, "-m", "reasonlake", "ingest"), cwd=root),
        ServiceSpec("alerts", (sys.executable, "-m", "reasonlake", "alerts", "--wait-for-model"), cwd=root),
        ServiceSpec("dagster-daemon", (str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"), dagster, root),
    ]
    if ui_port is not None:
        argv = (str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port))
        out.append(ServiceSpec("dagster-webserver", argv, dagster, root))
    return out


PROGRESS_DIRS = {"ingest": ("ingest",), "alerts": ("alerts", "classify")}


def last_progress(settings: Settings, name: str) -> str:
    """What a job's progress files last said (``""`` for a service without them)."""
    from flink.progress import read_progress

    parts = PROGRESS_DIRS.get(name)
    if parts is None:
        return ""
    reported = read_progress(settings.run_dir.joinpath(*parts))
    if not reported:
        return "no progress yet"
    latest = max(reported, key=lambda p: p.updated_at)
    at = datetime.fromtimestamp(latest.updated_at, UTC).isoformat(timespec="seconds")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(latest.counts.items()) if k in ("accepted", "rejected", "sent"))
    return f"{counts or 'records ' + str(latest.records_seen)} at {at}"


@dataclass(frozen=True)
class Lag:
    """Records on the feedback topics a job has not consumed yet."""

    records: int
    lower_bound: bool  # the embedded broker's end offsets are lower bounds

    def __str__(self) -> str:
        return f"lag {'>= ' if self.lower_bound else ''}{self.records} records"


def consumer_lag(settings: Settings, bootstrap: str) -> dict[str, Lag]:
    """The lag of the ingest job (the broker's end offsets against the offsets committed in
    ``raw.feedback``; a partition never ingested counts from offset 0) and of the alert job (against
    the positions its classify subtasks last reported; partitions it has not reported are left out,
    so a lower bound)."""
    from flink import kafka_io
    from flink.jobconfig import FEEDBACK_TOPIC_PATTERN
    from flink.progress import read_progress, totals, unread
    from lake import catalog as lake_catalog

    embedded = not settings.bootstrap_servers
    catalog = lake_catalog.load(settings)
    ingested = (
        lake_catalog.committed_offsets(catalog.load_table("raw.feedback"))
        if catalog.table_exists("raw.feedback")
        else {}
    )
    ends = kafka_io.end_offsets(bootstrap, FEEDBACK_TOPIC_PATTERN)
    alerted = totals(read_progress(settings.run_dir.joinpath(*PROGRESS_DIRS["alerts"]))).positions
    return {
        "ingest": Lag(unread(ends, ingested), embedded),
        "alerts": Lag(
            unread({tp: end for tp, end in ends.items() if tp in alerted}, alerted),
            embedded or set(ends) - set(alerted) != set(),
        ),
    }


# what the home holds on its own disk, by what grows it (``reasonlake status``'s last line)
DISK_PARTS = {
    "warehouse": "warehouse",
    "broker": "broker-s3",
    "dagster": "dagster",
    "logs": "logs",
    "checkpoints": "checkpoints",
    "models": "models",
}


def disk_use(settings: Settings) -> dict[str, int]:
    """Bytes under each of :data:`DISK_PARTS` in the home (a part elsewhere, an S3 warehouse, counts 0)."""
    use = {}
    for name, folder in DISK_PARTS.items():
        total = 0
        for root, _dirs, files in os.walk(settings.home / folder):
            for file in files:
                try:
                    total += os.lstat(os.path.join(root, file)).st_size
                except FileNotFoundError:  # deleted while counting (a commit, a rotation)
                    continue
        use[name] = total
    return use


def describe(settings: Settings, state: dict, lag: dict[str, Lag] | None = None) -> list[str]:
    """One line per service for ``reasonlake status`` (with its consumer lag where known), then what the
    home holds on disk."""
    lines = [f"supervisor pid {state['pid']} since {state['started']} (logs: {settings.logs_dir})"]
    if state.get("broker_restarts"):
        lines.append(f"  broker and intake: started again {state['broker_restarts']} time(s) after exiting")
    for name, s in state["services"].items():
        up = f"pid {s['pid']} up since {s['up_since']}" if s["pid"] else f"restarting (last exit {s['last_exit']})"
        notes = [n for n in (last_progress(settings, name), str((lag or {}).get(name, ""))) if n]
        lines.append(f"  {name:18s} {up}; restarts {s['restarts']}{''.join('; ' + n for n in notes)}")
    use = disk_use(settings)
    lines.append("disk: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in use.items()))
    return lines
