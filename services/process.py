"""The one process helper every local process of a home goes through: start in the background with its
output to a rotating log, wait until it listens, remember its pid and port, stop its process group.

* :func:`spawn` starts a program in a session of its own (so a signal to its group reaches every process it
  started) with stdout and stderr piped into :mod:`services.logpipe`, which writes the log and rotates it;
* :func:`wait_listening` waits until *that* process listens on its port and answers there;
* :func:`gone`, :func:`runs`, :func:`listens` tell whether a recorded pid is still the process it was;
* :func:`terminate` stops a process group: SIGTERM, then SIGKILL after a grace period;
* :func:`locked` serialises start/stop of one thing across processes; :func:`read_json`/:func:`write_json`
  keep state files (pid, port) that later commands read; :func:`remembered_port` keeps a port across restarts.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from services import logpipe

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 10.0


def free_port(avoid: Collection[int] = ()) -> int:
    """A port free now on this host, none of ``avoid`` (ports probed for servers not listening yet: a
    probe's port is free again once the probe closes, and the next probe may be handed it)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def remembered_port(path: Path, avoid: Collection[int] = ()) -> int:
    """The port in ``path`` (a server keeps its port across restarts), else a free one, written there."""
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        port = free_port(avoid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(port))
        return port


def port_answers(port: int, timeout: float = 0.5, host: str = HOST) -> bool:
    """Something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_zombie(pid: int) -> bool:
    """``pid`` has exited and waits for its parent to reap it: another process's child (the broker a
    test process started, stopped by ``reasonlake down``) stays a zombie until that parent waits."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (reaping it when it is this process's child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return is_zombie(pid)


def runs(pid: int, marker: bytes) -> bool:
    """The pid's command line contains ``marker`` (guards against a recycled pid); True where /proc is
    unavailable and the pid runs."""
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not gone(pid)
    except OSError:
        return True


def listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself listens on ``port`` (not merely: something answers there)."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def spawn(
    argv: list[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
    max_log_bytes: int = logpipe.MAX_BYTES,
    keep_logs: int = logpipe.KEEP,
) -> subprocess.Popen:
    """Start ``argv`` in the background, in a session of its own, its stdout and stderr appended to ``log``
    by a :mod:`services.logpipe` process that rotates it past ``max_log_bytes`` (rename and reopen: no line
    is lost). The log writer runs until every process holding the pipe (the program and what it started) has
    exited; it is reaped by :mod:`subprocess` itself."""
    log.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    try:
        subprocess.Popen(
            [sys.executable, "-m", "services.logpipe", str(log), "--max-bytes", str(max_log_bytes)]
            + ["--keep", str(keep_logs)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(read_end)
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
    finally:
        os.close(write_end)


def wait_listening(proc: subprocess.Popen, port: int, timeout_s: float) -> bool:
    """Whether ``proc`` came to listen on ``port`` and answers there within ``timeout_s``. Another server
    answering on the port does not count: a free port probed for one server can be handed to the next one
    started before the first binds it (it happened: the broker's own S3 server took the port probed for
    Tansu, whose bind then failed while the S3 server answered its clients)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if listens(proc.pid, port) and port_answers(port, timeout=0.2):
            return True
        time.sleep(0.05)
    return False


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group ``pid`` leads (started by :func:`spawn`), else to ``pid`` alone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def terminate(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL after ``timeout_s``; wait until ``pid`` is gone."""
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not gone(pid):
        signal_group(pid, signal.SIGKILL)
        while not gone(pid):
            time.sleep(0.05)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, value: Mapping) -> None:
    """Write ``value`` to ``path`` atomically (a reader sees the old or the new file, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)
