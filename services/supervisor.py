"""The supervisor of a home's long-running services (``reasonlake run`` / ``status`` / ``down``).

:func:`launch` starts one detached supervisor process (``python -m services.supervisor``) for a list of
:class:`ServiceSpec` (what ``reasonlake run`` asks for: the ingest and alert jobs, the Dagster daemon and
web server), kept in ``<home>/run/supervisor-specs.json``. It starts each service with
:func:`services.process.spawn` (its log ``<home>/logs/<service>.log``, rotated past 50 MB by rename-and-reopen,
three rotations kept: :mod:`services.logpipe`) and watches it.

The home's embedded broker (Tansu) and its intake, started by ``reasonlake up`` / ``run`` rather than by the
supervisor, are watched too: one that exited is started again by :func:`services.broker.start` on its former
port (tried every 2 s, with the same backoff when starting fails), said in the log and counted in
``<home>/run/supervisor.json`` (``broker_restarts``, shown by ``reasonlake status``).

A service that exits is restarted after a backoff (1 s, doubling to at most 60 s; reset once it ran a
minute), and the restart is written to ``<home>/logs/supervisor.log`` and the state file
``<home>/run/services.json`` (pid, up since, restarts, last exit) that ``reasonlake status`` reads.
SIGTERM (:func:`shutdown`, ``reasonlake down``) stops them all: SIGINT to each service (the Flink jobs stop
as on Ctrl-C, the alert job with a savepoint), then SIGKILL to what is left of its process group (at the
latest after 60 s). A supervisor that dies without that (SIGKILL, the out-of-memory killer) takes its
services with it: each gets SIGINT from the kernel (Linux's parent-death signal) and stops as on ``down``,
rather than running on beside the next ``reasonlake run``'s copies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lake.settings import Settings
from services import broker, process
from services.errors import EngineError

STOP_GRACE_S = 60.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0  # a service that ran this long starts again from the shortest backoff
BROKER_CHECK_S = 2.0  # how often the home's embedded broker and its intake are looked at


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


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
    info = process.read_json(supervisor_file(settings))
    if info is None or not isinstance(info.get("pid"), int) or process.gone(info["pid"]):
        return None
    return {**info, "services": process.read_json(state_file(settings)) or {}}


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


class Supervisor:
    def __init__(self, settings: Settings, services: list[ServiceSpec]) -> None:
        self.settings = settings
        self.services = services
        self.die_with_me = _parent_death_signal()
        self.procs: dict[str, subprocess.Popen] = {}
        self.states = {s.name: ServiceState(s.name) for s in services}
        self.stopping = False
        self.broker = ServiceState("broker")  # restarts of the embedded broker or its intake, and its backoff
        self.started = datetime.now(UTC).isoformat(timespec="seconds")

    def say(self, message: str) -> None:
        """A line of the supervisor's log (its stdout: ``logs/supervisor.log`` when :func:`launch` started it)."""
        print(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}", flush=True)

    def start(self, spec: ServiceSpec) -> None:
        state = self.states[spec.name]
        proc = process.spawn(
            list(spec.argv),
            self.settings.logs_dir / f"{spec.name}.log",
            env=self.settings.child_env(**spec.env),
            cwd=Path(spec.cwd) if spec.cwd else None,
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
        self.write_state()

    def watch_broker(self) -> None:
        """The home's embedded broker and its intake are started again when one of them exited
        (:func:`services.broker.start`: on their former ports, so clients reconnect where they were)."""
        now = time.monotonic()
        if self.settings.bootstrap_servers or now < self.broker.next_start_at:
            return
        self.broker.next_start_at = now + BROKER_CHECK_S
        gone = broker.gone_parts(self.settings)
        if not gone:
            if now - self.broker.started_at >= HEALTHY_AFTER_S:
                self.broker.backoff_s = 1.0
            return
        try:
            info = broker.start(self.settings)
        except Exception as exc:  # whatever failed, the supervisor and its services carry on, and try again
            self.broker.backoff_s = min(self.broker.backoff_s * 2, MAX_BACKOFF_S)
            self.broker.next_start_at = now + self.broker.backoff_s
            self.say(
                f"{' and '.join(gone)} exited; starting again failed ({exc}); next try in {self.broker.backoff_s:.0f} s"
            )
            return
        self.broker.restarts += 1
        self.broker.started_at = now
        self.broker.up_since = datetime.now(UTC).isoformat(timespec="seconds")
        self.say(
            f"{' and '.join(gone)} exited: started again (broker pid {info.pid} at {info.bootstrap}"
            + (f", intake pid {info.intake_pid} at {info.intake})" if info.intake else ")")
        )
        self.write_supervisor_file()

    def write_supervisor_file(self) -> None:
        process.write_json(
            supervisor_file(self.settings),
            {"pid": os.getpid(), "started": self.started, "broker_restarts": self.broker.restarts},
        )

    def write_state(self) -> None:
        payload = {
            name: {k: v for k, v in asdict(s).items() if k not in ("next_start_at", "backoff_s", "started_at")}
            for name, s in self.states.items()
        }
        process.write_json(state_file(self.settings), payload)

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
            process.signal_group(proc.pid, signal.SIGKILL)  # whatever it left behind (a JVM, workers)
            proc.wait()
        self.say("stopped")
        state_file(self.settings).unlink(missing_ok=True)
        supervisor_file(self.settings).unlink(missing_ok=True)

    def run(self, poll_s: float = 1.0) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.write_supervisor_file()
        self.say(f"supervising {', '.join(s.name for s in self.services)}")
        try:
            while not self.stopping:
                self.tick()
                self.watch_broker()
                time.sleep(poll_s)
        finally:
            self.shutdown()


def launch(settings: Settings, services: list[ServiceSpec], wait_s: float = 30.0) -> dict:
    """Start the supervisor of ``services`` in the background (idempotent: one already running is kept);
    returns its state once every service started."""
    running = read_state(settings)
    if running is not None:
        return running
    settings.ensure_dirs()
    process.write_json(specs_file(settings), {"services": [asdict(s) for s in services]})
    argv = [sys.executable, "-m", "services.supervisor"]
    proc = process.spawn(argv, settings.logs_dir / "supervisor.log", env=settings.child_env())
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = read_state(settings)
        if state is not None and state["services"] and all(s["pid"] for s in state["services"].values()):
            return state
        if proc.poll() is not None:
            raise EngineError(
                f"the supervisor exited with code {proc.returncode}; see {settings.logs_dir}/supervisor.log"
            )
        time.sleep(0.2)
    raise EngineError(f"the services did not start within {wait_s:.0f} s; see {settings.logs_dir}/supervisor.log")


def shutdown(settings: Settings, timeout_s: float = STOP_GRACE_S + 30) -> bool:
    """Stop the supervisor and its services; True when one was running."""
    info = read_state(settings)
    if info is None:
        return False
    process.terminate(int(info["pid"]), timeout_s)  # it stops its services first (SIGINT each, then SIGKILL)
    return True


def specs_file(settings: Settings) -> Path:
    return settings.run_dir / "supervisor-specs.json"


def main() -> None:
    settings = Settings.from_env()  # the home and every setting come from the launching command's child env
    saved = process.read_json(specs_file(settings)) or {}
    services = [ServiceSpec(**{**s, "argv": tuple(s["argv"])}) for s in saved.get("services", [])]
    if not services:
        raise SystemExit(f"no services to supervise in {specs_file(settings)}")
    Supervisor(settings, services).run()


if __name__ == "__main__":
    main()
