"""Redis as Feast's online store (``REASONLAKE_ONLINE_STORE=redis://127.0.0.1:<port>``): one ``redis-server``
under ``<home>/engines/redis`` (its data, log, pid and port files there), started by :func:`start`, stopped by
:func:`stop`. It keeps its port across restarts."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lake.settings import Settings
from services import packages, process
from services.errors import EngineError


@dataclass(frozen=True)
class Redis:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"redis://{process.HOST}:{self.port}"


def folder(settings: Settings) -> Path:
    return settings.home / "engines" / "redis"


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection((process.HOST, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def running(settings: Settings) -> Redis | None:
    """The home's Redis when it runs and answers PING."""
    try:
        port, pid = int((folder(settings) / "port").read_text()), int((folder(settings) / "redis.pid").read_text())
    except (OSError, ValueError):
        return None
    return Redis(port, pid) if _answers(port) else None


def start(settings: Settings, timeout_s: float = 30.0) -> Redis:
    """The home's Redis, started when it is not running (idempotent)."""
    started = running(settings)
    if started is not None:
        return started
    exe = packages.require("redis-server")
    home = folder(settings)
    home.mkdir(parents=True, exist_ok=True)
    port = process.remembered_port(home / "port")
    args = [exe, "--port", str(port), "--bind", process.HOST, "--dir", str(home), "--daemonize", "yes"]
    args += ["--pidfile", str(home / "redis.pid"), "--logfile", str(home / "redis.log"), "--save", "60 1"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EngineError(f"redis-server did not start: {(proc.stderr or proc.stdout).strip()[-300:]}")
    deadline = time.monotonic() + timeout_s
    while (started := running(settings)) is None:
        if time.monotonic() > deadline:
            raise EngineError(
                f"redis-server did not answer on {process.HOST}:{port} within {timeout_s:.0f} s; see {home / 'redis.log'}"
            )
        time.sleep(0.1)
    return started


def stop(settings: Settings, timeout_s: float = 30.0) -> bool:
    """Stop the home's Redis (it saves its data first); False when it was not running."""
    started = running(settings)
    if started is None:
        return False
    process.signal_group(started.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _answers(started.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True
