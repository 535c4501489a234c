"""The scale-out engines a home can run beside the embedded defaults, started by the project itself.

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
  Debian's ``postgres`` user, which must be able to reach the home (every folder above it searchable);
* **a standalone Flink cluster** (``REASONLAKE_FLINK_ADDRESS=127.0.0.1:<rest port>``):
  :func:`start_flink_cluster` runs pyflink's ``jobmanager.sh`` and ``taskmanager.sh`` (one JobManager,
  two TaskManagers) on a config under ``<home>/engines/flink``, :func:`stop_flink_cluster` stops them,
  :func:`kill_taskmanager` SIGKILLs one (a fault test).

:func:`start_cluster_profile` starts all of them and returns the settings that use them (what
``reasonlake up --profile cluster`` prints); :func:`stop_cluster_profile` stops them.

:func:`ensure_debian_package` installs a Debian package when its program is missing (``apt-get``, as
root, like the rest of the set-up). Each engine keeps its port across restarts (``port`` file).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flink.broker import free_port
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
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get (not ours) holding dpkg's lock: wait for it

    def install() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["apt-get", *wait, "install", "-y", "-q", package], capture_output=True, text=True, env=env
        )

    # One install at a time among this project's processes (two commands or tests starting an engine at
    # once); the one that waited finds the program the other installed.
    with open(Path(tempfile.gettempdir()) / "reasonlake-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find()
        if found:
            return found
        proc = install()
        if proc.returncode != 0:  # stale package lists: update them, then once more
            subprocess.run(["apt-get", *wait, "update", "-q"], capture_output=True, text=True, env=env)
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
        port = free_port()
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


def postgres_bin() -> Path:
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
    folder, bin_dir = postgres_dir(settings), postgres_bin()
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
        port = free_port()
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
    _pg([str(postgres_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "stop")
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


# ---- a standalone Flink cluster -----------------------------------------------------------------


@dataclass(frozen=True)
class FlinkCluster:
    rest_port: int
    jobmanager_pid: int
    taskmanager_pids: tuple[int, ...]

    @property
    def address(self) -> str:
        """``host:port`` of the JobManager's REST endpoint (``REASONLAKE_FLINK_ADDRESS``)."""
        return f"127.0.0.1:{self.rest_port}"


def flink_dir(settings: Settings) -> Path:
    return settings.home / "engines" / "flink"


def _flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).parent


def _java_home() -> str | None:
    """The JDK of the ``java`` on the PATH (``JAVA_HOME`` when set)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    return str(Path(java).resolve().parent.parent) if java else None


def _flink_env(settings: Settings) -> dict[str, str]:
    """The environment of the cluster's scripts: :meth:`Settings.child_env` (what every child process
    gets, without what an in-process PyFlink run leaked) plus Flink's folders. ``JAVA_HOME`` is explicit:
    without it Flink's scripts export an empty ``JAVA_HOME`` into the TaskManagers, which their Python
    workers hand on (a loopback worker copies it into the submitting process, whose next PyFlink start
    then runs ``bin/java``)."""
    folder = flink_dir(settings)
    java_home = _java_home()
    return settings.child_env(
        **({"JAVA_HOME": java_home} if java_home else {}),
        FLINK_CONF_DIR=str(folder / "conf"),
        FLINK_LOG_DIR=str(folder / "log"),
        FLINK_PID_DIR=str(folder),
        FLINK_LIB_DIR=str(folder / "lib"),
    )


def _flink_lib(folder: Path) -> None:
    """``<folder>/lib``: pyflink's ``lib/`` jars and its ``opt/`` flink-python jar (the Python operators),
    as Flink's docs set up a cluster for PyFlink. In the cluster's class path, pemja (Python embedded in
    the task JVM, ``thread`` mode) loads its native library once per TaskManager: shipped with each job
    instead, a second job's copy cannot load it again (``NoSuchFieldException: loadedLibraryNames``)."""
    lib = folder / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    lib.mkdir()
    for jar in [*(_flink_home() / "lib").glob("*.jar"), *(_flink_home() / "opt").glob("flink-python*.jar")]:
        (lib / jar.name).symlink_to(jar)


def _flink_config(rpc_port: int, rest_port: int, slots: int, python: str) -> str:
    """The cluster's config.yaml: loopback only, this environment's Python for the workers, slots spread
    over the TaskManagers, and a lost TaskManager noticed within seconds."""
    import yaml

    base = yaml.safe_load((_flink_home() / "conf" / "config.yaml").read_text()) or {}
    config = {
        "env": base.get("env", {}),
        "jobmanager": {
            "bind-host": "127.0.0.1",
            "rpc": {"address": "127.0.0.1", "port": rpc_port},
            "memory": {"process": {"size": "1024m"}},
            "execution": {"failover-strategy": "region"},
        },
        "taskmanager": {
            "bind-host": "127.0.0.1",
            "host": "127.0.0.1",
            "numberOfTaskSlots": slots,
            "memory": {"process": {"size": "2048m"}},
            "load-balance": {"mode": "SLOTS"},  # spread a job's subtasks over the TaskManagers
        },
        "rest": {"address": "127.0.0.1", "bind-address": "127.0.0.1", "port": rest_port},
        "heartbeat": {"interval": 2000, "timeout": 10000},
        "python": {"executable": python, "client": {"executable": python}},
        # the jobs ship flink-python too (a plain cluster lacks it): take pemja from the class path
        "classloader": {"parent-first-patterns": {"additional": "pemja."}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def _flink_pids(folder: Path, kind: str) -> list[int]:
    """The live pids flink-daemon.sh recorded for ``kind`` (``standalonesession`` or ``taskexecutor``)."""
    pids = []
    for pid_file in folder.glob(f"flink-*-{kind}.pid"):
        for line in pid_file.read_text().split():
            if line.isdigit() and _alive(int(line)):
                pids.append(int(line))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    from flink.broker import is_zombie

    return not is_zombie(pid)


def _registered_taskmanagers(rest_port: int) -> int | None:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/taskmanagers", timeout=2) as response:
            return len(json.load(response).get("taskmanagers", []))
    except (OSError, ValueError):
        return None


def running_flink_cluster(settings: Settings) -> FlinkCluster | None:
    """The home's Flink cluster when its JobManager is up, else None."""
    folder = flink_dir(settings)
    try:
        rest_port = int((folder / "rest.port").read_text())
    except (OSError, ValueError):
        return None
    jobmanagers = _flink_pids(folder, "standalonesession")
    if not jobmanagers or _registered_taskmanagers(rest_port) is None:
        return None
    return FlinkCluster(rest_port, jobmanagers[0], tuple(_flink_pids(folder, "taskexecutor")))


def start_flink_cluster(
    settings: Settings, taskmanagers: int = 2, slots: int = 4, timeout_s: float = 120.0
) -> FlinkCluster:
    """The home's standalone Flink cluster (pyflink's own ``jobmanager.sh``/``taskmanager.sh``): one
    JobManager and ``taskmanagers`` TaskManagers of ``slots`` slots each under ``<home>/engines/flink``
    (config, logs, pids), started when needed; its workers run this environment's Python. Jobs reach it
    with ``REASONLAKE_FLINK_ADDRESS`` (:attr:`FlinkCluster.address`); they bring their own jars."""
    import sys

    folder = flink_dir(settings)
    (folder / "conf").mkdir(parents=True, exist_ok=True)
    (folder / "log").mkdir(exist_ok=True)
    running = running_flink_cluster(settings)
    if running is None:
        ports = {}
        for name in ("rpc", "rest"):
            try:
                ports[name] = int((folder / f"{name}.port").read_text())
            except (OSError, ValueError):
                ports[name] = free_port(avoid=set(ports.values()))
                (folder / f"{name}.port").write_text(str(ports[name]))
        for name in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties"):
            shutil.copy(_flink_home() / "conf" / name, folder / "conf" / name)
        config = _flink_config(ports["rpc"], ports["rest"], slots, sys.executable)
        (folder / "conf" / "config.yaml").write_text(config)
        for pid_file in folder.glob("flink-*.pid"):  # left by a killed cluster
            pid_file.unlink()
        _flink_lib(folder)
        _flink_script("jobmanager.sh", ["start"], settings)
    cluster = _wait_for(settings, taskmanagers=0, timeout_s=timeout_s)
    for _ in range(taskmanagers - len(cluster.taskmanager_pids)):
        _flink_script("taskmanager.sh", ["start"], settings)
    return _wait_for(settings, taskmanagers=max(taskmanagers, len(cluster.taskmanager_pids)), timeout_s=timeout_s)


def _flink_script(script: str, args: list[str], settings: Settings) -> None:
    proc = subprocess.run(
        ["bash", str(_flink_home() / "bin" / script), *args], capture_output=True, text=True, env=_flink_env(settings)
    )
    if proc.returncode != 0:
        raise EngineError(f"Flink {script} {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")


def _wait_for(settings: Settings, taskmanagers: int, timeout_s: float) -> FlinkCluster:
    """The cluster once its JobManager answers and ``taskmanagers`` TaskManagers have registered."""
    folder = flink_dir(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        cluster = running_flink_cluster(settings)
        if cluster is not None and (_registered_taskmanagers(cluster.rest_port) or 0) >= taskmanagers:
            return cluster
        if time.monotonic() > deadline:
            logs = sorted((folder / "log").glob("*.log"))
            tail = " ".join(logs[-1].read_text()[-300:].split()) if logs else "no log"
            raise EngineError(
                f"the Flink cluster did not come up with {taskmanagers} TaskManager(s) within {timeout_s:.0f} s: {tail}"
            )
        time.sleep(0.5)


def kill_taskmanager(settings: Settings, pid: int) -> None:
    """SIGKILL one TaskManager (and the Python workers it started): a machine lost, for fault tests."""
    import psutil

    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=30)


def stop_flink_cluster(settings: Settings, timeout_s: float = 60.0) -> bool:
    """Stop the home's Flink cluster (TaskManagers, then the JobManager); False when none was running."""
    folder = flink_dir(settings)
    pids = _flink_pids(folder, "taskexecutor") + _flink_pids(folder, "standalonesession")
    if not pids:
        return False
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for pid_file in folder.glob("flink-*.pid"):
        pid_file.unlink()
    return True


# ---- every engine at once: the "cluster" profile --------------------------------------------------


def start_cluster_profile(settings: Settings, parallelism: int = 4) -> Settings:
    """Start every scale-out engine of the home (a Flink cluster of two TaskManagers, PostgreSQL, Redis,
    the S3 object store) and return ``settings`` pointed at them: what ``reasonlake up --profile cluster``
    prints as environment variables."""
    cluster = start_flink_cluster(settings)
    postgres = start_postgres(settings)
    redis = start_redis(settings)
    endpoint = start_object_store(settings)
    return settings.replace(
        flink_address=cluster.address,
        flink_parallelism=parallelism,
        catalog_uri=postgres.url(),
        catalog_warehouse="s3://warehouse/reasonlake",
        catalog_extra={**settings.catalog_extra, **s3_properties(endpoint)},
        online_store=redis.url,
    )


def stop_cluster_profile(settings: Settings) -> list[str]:
    """Stop the home's scale-out engines; the names of those that were running."""
    stopped = []
    if stop_flink_cluster(settings):
        stopped.append("Flink cluster")
    if stop_postgres(settings):
        stopped.append("PostgreSQL")
    if stop_redis(settings):
        stopped.append("Redis")
    from flink.broker import S3Storage

    if S3Storage().running(settings) is not None:
        stop_object_store(settings)
        stopped.append("S3 object store")
    return stopped
