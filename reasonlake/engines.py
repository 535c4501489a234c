"""The scale-out engines a home can run beside the embedded defaults, started by the project itself.

So far:

* **Redis** as Feast's online store (``REASONLAKE_ONLINE_STORE=redis://127.0.0.1:<port>``):
  :func:`start_redis` runs one ``redis-server`` under ``<home>/engines/redis`` (its data, log and pid
  file there) and :func:`stop_redis` stops it;
* **an S3 object store** for the Iceberg warehouse (``REASONLAKE_CATALOG_WAREHOUSE=s3://…`` with
  :func:`s3_properties` in ``REASONLAKE_CATALOG_PROPERTIES``): :func:`start_object_store` is the home's
  local ``localbucket`` S3 server, the one the embedded broker's ``s3`` storage runs on;
* **PostgreSQL** as the Iceberg SQL catalog (``REASONLAKE_CATALOG_URI=postgresql+psycopg://…``):
  :func:`start_postgres` initialises a cluster under ``<home>/engines/postgres`` (trust authentication,
  listening on 127.0.0.1 only) and starts it, :func:`create_database` adds a database,
  :func:`stop_postgres` stops it. PostgreSQL refuses to run as root: as root, the cluster runs as
  Debian's ``postgres`` user, which must be able to reach the home (every folder above it searchable).

:func:`ensure_debian_package` installs a Debian package when its program is missing (``apt-get``, as
root, like the rest of the set-up). Each engine keeps its port across restarts (``port`` file).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lake.settings import Settings


class EngineError(RuntimeError):
    """An engine could not be installed or started; the message says which and why, in one line."""


def ensure_debian_package(program: str, package: str, find: Callable[[], str | None] | None = None) -> str:
    """The path of ``program`` (``find()``, default: on PATH), installing Debian's ``package`` first when
    it is missing."""
    find = find or (lambda: shutil.which(program))
    found = find()
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
    found = find()
    if not found:
        raise EngineError(f"apt-get installed {package} but {program} is still not found")
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


# ---- PostgreSQL -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    port: int

    def url(self, database: str = "reasonlake") -> str:
        """The SQLAlchemy URI of ``database`` (``REASONLAKE_CATALOG_URI``)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def postgres_dir(settings: Settings) -> Path:
    return settings.home / "engines" / "postgres"


def _postgres_bin() -> Path:
    def find() -> str | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        return str(found[-1]) if found else None

    return Path(ensure_debian_package("initdb", "postgresql", find)).parent


def _as_postgres() -> list[str]:
    """PostgreSQL will not run as root: as root, its commands run as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg(args: list[str], what: str, log: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([*_as_postgres(), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip() or (log.read_text()[-500:] if log and log.exists() else "")
        raise EngineError(f"PostgreSQL: {what} failed: {' '.join(detail.split())[-400:]}")
    return proc


def start_postgres(settings: Settings) -> Postgres:
    """The home's PostgreSQL (with a ``reasonlake`` database), initialised and started when needed."""
    folder, bin_dir = postgres_dir(settings), _postgres_bin()
    data, log = folder / "data", folder / "postgres.log"
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)  # initdb creates the rest as that user
        if subprocess.run([*_as_postgres(), "test", "-w", str(folder)]).returncode != 0:
            raise EngineError(
                f"PostgreSQL runs as the postgres user, which cannot reach {folder}: make every folder above "
                "the home searchable (chmod o+x), or use a home outside a private folder"
            )
    if not (data / "PG_VERSION").exists():
        _pg([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"], "initdb")
    try:
        port = int((folder / "port").read_text())
    except (OSError, ValueError):
        port = _free_port()
        (folder / "port").write_text(str(port))
    ready = [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    if subprocess.run(ready).returncode != 0:
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        _pg([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"], "start", log)
    server = Postgres(port)
    create_database(server, "reasonlake")
    return server


def create_database(server: Postgres, name: str) -> None:
    """Create database ``name`` unless it exists."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True) as con:
        if con.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            con.execute(f'create database "{name}"')


def stop_postgres(settings: Settings) -> bool:
    """Stop the home's PostgreSQL (fast shutdown); False when it was not running."""
    data = postgres_dir(settings) / "data"
    if not (data / "postmaster.pid").exists():
        return False
    _pg([str(_postgres_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "stop")
    return True


# ---- an S3 object store -------------------------------------------------------------------------


def start_object_store(settings: Settings, bucket: str = "warehouse") -> str:
    """The endpoint of the home's local S3 server (started when needed; the embedded broker's own),
    with ``bucket`` created."""
    import urllib.error
    import urllib.request

    from flink.broker import S3Storage
    from flink.errors import BrokerStartError

    try:
        _, env = S3Storage().prepare(settings)
    except BrokerStartError as exc:
        raise EngineError(str(exc)) from None
    endpoint = env["AWS_ENDPOINT"]
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # already there
            raise EngineError(f"cannot create bucket {bucket!r} at {endpoint}: HTTP {exc.code}") from None
    return endpoint


def stop_object_store(settings: Settings) -> None:
    from flink.broker import S3Storage

    S3Storage().release(settings)


def s3_properties(endpoint: str) -> dict[str, str]:
    """pyiceberg's S3 FileIO properties for the local S3 server (its fixed development credentials)."""
    return {
        "s3.endpoint": endpoint,
        "s3.access-key-id": "reasonlake",
        "s3.secret-access-key": "reasonlake",
        "s3.region": "us-east-1",
    }
