"""The living system as supervised background services (``reasonlake run`` / ``status`` / ``down``).

``reasonlake run`` starts the home's broker, then one detached supervisor process
(``python -m reasonlake.services --home H``) that starts and watches:

* ``ingest``: the PyFlink ingest job (``reasonlake ingest``, until stopped);
* ``alerts``: the PyFlink alert job (``reasonlake alerts --wait-for-model``: before the first weekly
  run it waits for a promoted model);
* ``dagster-daemon``: schedules (weekly, daily maintenance) and sensors (ingest commits, closed weeks,
  notifications) on the home's Dagster instance;
* ``dagster-webserver``: the UI (unless ``--no-ui``).

A service that exits is restarted after a backoff (1 s, doubling to at most 60 s; reset once it ran a
minute), and the restart is written to ``<home>/logs/supervisor.log`` and the state file
``<home>/run/services.json`` (pid, up since, restarts, last exit) that ``reasonlake status`` reads.
Each service logs to ``<home>/logs/<service>.log``; every log there is rotated past 50 MB, three
rotations kept (:func:`rotate_logs`, checked each minute). SIGTERM (``reasonlake down``) stops them all:
SIGINT to each service (the Flink jobs stop as on Ctrl-C, the alert job with a savepoint), then
SIGKILL to what is left of its process group (at the latest after 60 s). A supervisor that dies without
that (SIGKILL, the out-of-memory killer) takes its services with it: each gets SIGINT from the kernel
(Linux's parent-death signal) and stops as on ``down``, rather than running on beside the next
``reasonlake run``'s copies.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lake.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 60.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0  # a service that ran this long starts again from the shortest backoff
# every log of the home is rotated past this size, the newest LOG_KEEP rotations kept (checked each minute)
LOG_MAX_BYTES = 50 * 1024 * 1024
LOG_KEEP = 3
LOG_CHECK_S = 60.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def specs(settings: Settings, ui_port: int | None) -> list[ServiceSpec]:
    """The services of the living system for ``settings`` (``ui_port`` None: no web UI)."""
    from reasonlake.weekly import dagster_home

    bin_dir = Path(sys.executable).parent
    dagster = {"DAGSTER_HOME": str(dagster_home(settings))}
    out = [
        ServiceSpec("ingest", (sys.executable, "-m", "reasonlake", "ingest")),
        ServiceSpec("alerts", (sys.executable, "-m", "reasonlake", "alerts", "--wait-for-model")),
        ServiceSpec("dagster-daemon", (str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"), dagster),
    ]
    if ui_port is not None:
        argv = (str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port))
        out.append(ServiceSpec("dagster-webserver", argv, dagster))
    return out


@dataclass
class ServiceState:
    name: str
    pid: int | None = None
    up_since: str | None = None
    restarts: int = 0
    last_exit: int | None = None
    next_start_at: float = 0.0  # monotonic
    backoff_s: float = 1.0
    started_at: float = 0.0  # monotonic


def state_file(settings: Settings) -> Path:
    return settings.run_dir / "services.json"


def supervisor_file(settings: Settings) -> Path:
    return settings.run_dir / "supervisor.json"


def read_state(settings: Settings) -> dict | None:
    """The supervisor's last written state, or None when no supervisor runs for this home."""
    try:
        info = json.loads(supervisor_file(settings).read_text())
        os.kill(int(info["pid"]), 0)
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError):
        return None
    try:
        return {**info, "services": json.loads(state_file(settings).read_text())}
    except (FileNotFoundError, ValueError):
        return {**info, "services": {}}


PR_SET_PDEATHSIG = 1  # prctl(2)


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send the child SIGINT when this process dies (Linux), or None
    where prctl is not there. libc is looked up here, in the parent: between fork and exec only the call."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGINT))
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def rotate_logs(folder: Path, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> list[str]:
    """Rotate every ``*.log`` in ``folder`` larger than ``max_bytes``: ``x.log`` is copied to ``x.log.1``
    (``.1`` → ``.2`` …, the oldest past ``keep`` dropped), then emptied in place. In place, because the
    services hold it open: they all write in append mode, so their next line starts the emptied file
    (a line written between the copy and the emptying is lost). Returns a line per log rotated, or not
    rotated and why (a full disk, a file it may not write): the supervisor goes on either way."""
    said = []
    for path in sorted(folder.glob("*.log")):
        try:
            if path.stat().st_size <= max_bytes:
                continue
            for n in range(keep - 1, 0, -1):
                older = path.with_name(f"{path.name}.{n}")
                if older.exists():
                    os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
            shutil.copyfile(path, path.with_name(f"{path.name}.1"))
            os.truncate(path, 0)
        except FileNotFoundError:  # removed meanwhile (a home destroyed)
            continue
        except OSError as exc:
            said.append(f"could not rotate logs/{path.name}: {exc.strerror or exc}")
            continue
        said.append(f"rotated logs/{path.name} (over {max_bytes // 2**20} MB; the last {keep} kept as {path.name}.1…)")
    return said


class Supervisor:
    def __init__(self, settings: Settings, services: list[ServiceSpec]) -> None:
        self.settings = settings
        self.services = services
        self.die_with_me = _parent_death_signal()
        self.procs: dict[str, subprocess.Popen] = {}
        self.states = {s.name: ServiceState(s.name) for s in services}
        self.stopping = False
        self.log = open(settings.logs_dir / "supervisor.log", "a", buffering=1)  # noqa: SIM115 (lives with it)
        self.logs_checked_at = float("-inf")

    def say(self, message: str) -> None:
        self.log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}\n")

    def start(self, spec: ServiceSpec) -> None:
        state = self.states[spec.name]
        with open(self.settings.logs_dir / f"{spec.name}.log", "ab") as log:
            proc = subprocess.Popen(
                spec.argv,
                cwd=REPO_ROOT,
                env=self.settings.child_env(**spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self.die_with_me,  # the supervisor runs no other thread: safe between fork and exec
            )
        self.procs[spec.name] = proc
        state.pid, state.started_at = proc.pid, time.monotonic()
        state.up_since = datetime.now(UTC).isoformat(timespec="seconds")
        self.say(f"started {spec.name} (pid {proc.pid})")

    def tick(self) -> None:
        now = time.monotonic()
        for spec in self.services:
            state, proc = self.states[spec.name], self.procs.get(spec.name)
            if proc is not None and proc.poll() is not None:  # it exited: restart after the backoff
                ran = now - state.started_at
                state.backoff_s = 1.0 if ran >= HEALTHY_AFTER_S else min(state.backoff_s * 2, MAX_BACKOFF_S)
                state.last_exit, state.pid, state.up_since = proc.returncode, None, None
                state.next_start_at = now + state.backoff_s
                del self.procs[spec.name]
                self.say(
                    f"{spec.name} exited with code {proc.returncode} after {ran:.0f} s; "
                    f"restarting in {state.backoff_s:.0f} s (see logs/{spec.name}.log)"
                )
            if spec.name not in self.procs and now >= state.next_start_at:
                if state.last_exit is not None:
                    state.restarts += 1
                self.start(spec)
        if now - self.logs_checked_at >= LOG_CHECK_S:
            self.logs_checked_at = now
            for line in rotate_logs(self.settings.logs_dir):
                self.say(line)
        self.write_state()

    def write_state(self) -> None:
        payload = {
            name: {k: v for k, v in asdict(s).items() if k not in ("next_start_at", "backoff_s", "started_at")}
            for name, s in self.states.items()
        }
        tmp = state_file(self.settings).with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, state_file(self.settings))

    def stop(self, *_: object) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        for name, proc in self.procs.items():  # Ctrl-C to each leader: the jobs stop cleanly (savepoint)
            self.say(f"stopping {name} (pid {proc.pid})")
            try:
                os.kill(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop within {STOP_GRACE_S:.0f} s: killed")
            _signal_group(proc.pid, signal.SIGKILL)  # whatever it left behind (a JVM, workers)
            proc.wait()
        self.say("stopped")
        state_file(self.settings).unlink(missing_ok=True)
        supervisor_file(self.settings).unlink(missing_ok=True)

    def run(self, poll_s: float = 1.0) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        supervisor_file(self.settings).write_text(
            json.dumps({"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")})
        )
        self.say(f"supervising {', '.join(s.name for s in self.services)}")
        try:
            while not self.stopping:
                self.tick()
                time.sleep(poll_s)
        finally:
            self.shutdown()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def launch(settings: Settings, ui_port: int | None, wait_s: float = 30.0) -> dict:
    """Start the supervisor in the background (idempotent); returns its state once every service started."""
    running = read_state(settings)
    if running is not None:
        return running
    settings.ensure_dirs()
    argv = [sys.executable, "-m", "reasonlake.services"]
    if ui_port is not None:
        argv += ["--ui-port", str(ui_port)]
    with open(settings.logs_dir / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=settings.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = read_state(settings)
        if state is not None and state["services"] and all(s["pid"] for s in state["services"].values()):
            return state
        if proc.poll() is not None:
            raise RuntimeError(f"the supervisor exited with code {proc.returncode}; see {settings.logs_dir}")
        time.sleep(0.2)
    raise TimeoutError(f"the services did not start within {wait_s:.0f} s; see {settings.logs_dir}/supervisor.log")


def shutdown(settings: Settings, timeout_s: float = STOP_GRACE_S + 30) -> bool:
    """Stop the supervisor and its services; True when one was running."""
    info = read_state(settings)
    if info is None:
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    return True


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
    for name, s in state["services"].items():
        up = f"pid {s['pid']} up since {s['up_since']}" if s["pid"] else f"restarting (last exit {s['last_exit']})"
        notes = [n for n in (last_progress(settings, name), str((lag or {}).get(name, ""))) if n]
        lines.append(f"  {name:18s} {up}; restarts {s['restarts']}{''.join('; ' + n for n in notes)}")
    use = disk_use(settings)
    lines.append("disk: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in use.items()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="reasonlake's service supervisor (started by `reasonlake run`)")
    parser.add_argument("--ui-port", type=int, default=None)
    args = parser.parse_args()
    settings = Settings.from_env()  # the home and every setting come from `reasonlake run`'s child env
    Supervisor(settings, specs(settings, args.ui_port)).run()


if __name__ == "__main__":
    main()
