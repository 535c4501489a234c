"""The scale-out engines a home can run beside the embedded defaults, started by the project itself.

So far: **Redis** as Feast's online store (``REASONLAKE_ONLINE_STORE=redis://127.0.0.1:<port>``).
:func:`ensure_debian_package` installs the Debian package when its program is missing (``apt-get``,
as root, like the rest of the set-up); :func:`start_redis` runs one ``redis-server`` under
``<home>/engines/redis`` on a free port (its data, log and pid file there) and returns its URL;
:func:`stop_redis` stops it. A home's Redis keeps its port across restarts (``port`` file).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lake.settings import Settings


class EngineError(RuntimeError):
    """An engine could not be installed or started; the message says which and why, in one line."""


def ensure_debian_package(program: str, package: str) -> str:
    """The path of ``program``, installing Debian's ``package`` first when it is missing."""
    found = shutil.which(program)
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise EngineError(f"{program} is missing: install the Debian package {package} (apt-get, as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def install() -> subprocess.CompletedProcess:
        return subprocess.run(["apt-get", "install", "-y", "-q", package], capture_output=True, text=True, env=env)

    proc = install()
    if proc.returncode != 0:  # stale package lists: update them, then once more
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env)
        proc = install()
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise EngineError(f"apt-get install {package} failed: {tail[0]}")
    found = shutil.which(program)
    if not found:
        raise EngineError(f"apt-get installed {package} but {program} is still not on PATH")
    return found


@dataclass(frozen=True)
class Redis:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


def redis_dir(settings: Settings) -> Path:
    return settings.home / "engines" / "redis"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _running(folder: Path) -> Redis | None:
    try:
        port, pid = int((folder / "port").read_text()), int((folder / "redis.pid").read_text())
    except (OSError, ValueError):
        return None
    return Redis(port, pid) if _answers(port) else None


def start_redis(settings: Settings, timeout_s: float = 30.0) -> Redis:
    """The home's Redis, started when it is not running (idempotent)."""
    folder = redis_dir(settings)
    running = _running(folder)
    if running is not None:
        return running
    exe = ensure_debian_package("redis-server", "redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        port = int((folder / "port").read_text())
    except (OSError, ValueError):
        port = _free_port()
    (folder / "port").write_text(str(port))
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--daemonize", "yes"]
    args += ["--pidfile", str(folder / "redis.pid"), "--logfile", str(folder / "redis.log"), "--save", "60 1"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EngineError(f"redis-server did not start: {(proc.stderr or proc.stdout).strip()[-300:]}")
    deadline = time.monotonic() + timeout_s
    while (started := _running(folder)) is None:
        if time.monotonic() > deadline:
            raise EngineError(f"redis-server did not answer on 127.0.0.1:{port} within {timeout_s:.0f} s")
        time.sleep(0.1)
    return started


def stop_redis(settings: Settings, timeout_s: float = 30.0) -> bool:
    """Stop the home's Redis (it saves its data first); False when it was not running."""
    running = _running(redis_dir(settings))
    if running is None:
        return False
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _answers(running.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True
