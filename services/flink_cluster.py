"""A standalone Flink cluster (``REASONLAKE_FLINK_ADDRESS=127.0.0.1:<rest port>``): :func:`start` runs the
``apache-flink`` wheel's own ``jobmanager.sh`` and ``taskmanager.sh`` (one JobManager, two TaskManagers) on a
config under ``<home>/engines/flink`` (config, logs, pids, ports), :func:`stop` stops them,
:func:`kill_taskmanager` SIGKILLs one (a fault test). Jobs bring their own jars and Python code (:mod:`flink`)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lake.settings import Settings
from services import process
from services.errors import EngineError


@dataclass(frozen=True)
class FlinkCluster:
    rest_port: int
    jobmanager_pid: int
    taskmanager_pids: tuple[int, ...]

    @property
    def address(self) -> str:
        """``host:port`` of the JobManager's REST endpoint (``REASONLAKE_FLINK_ADDRESS``)."""
        return f"127.0.0.1:{self.rest_port}"


def cluster_dir(settings: Settings) -> Path:
    return settings.home / "engines" / "flink"


def _flink_home() -> Path:
    """The installed ``apache-flink`` distribution (its ``bin/``, ``lib/``, ``conf/``), found without importing it."""
    spec = importlib.util.find_spec("pyflink")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("package apache-flink is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


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
    folder = cluster_dir(settings)
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
            if line.isdigit() and not process.gone(int(line)):
                pids.append(int(line))
    return pids


def _registered_taskmanagers(rest_port: int) -> int | None:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/taskmanagers", timeout=2) as response:
            return len(json.load(response).get("taskmanagers", []))
    except (OSError, ValueError):
        return None


def running(settings: Settings) -> FlinkCluster | None:
    """The home's Flink cluster when its JobManager is up, else None."""
    folder = cluster_dir(settings)
    try:
        rest_port = int((folder / "rest.port").read_text())
    except (OSError, ValueError):
        return None
    jobmanagers = _flink_pids(folder, "standalonesession")
    if not jobmanagers or _registered_taskmanagers(rest_port) is None:
        return None
    return FlinkCluster(rest_port, jobmanagers[0], tuple(_flink_pids(folder, "taskexecutor")))


def start(settings: Settings, taskmanagers: int = 2, slots: int = 4, timeout_s: float = 120.0) -> FlinkCluster:
    """The home's standalone Flink cluster (pyflink's own ``jobmanager.sh``/``taskmanager.sh``): one
    JobManager and ``taskmanagers`` TaskManagers of ``slots`` slots each under ``<home>/engines/flink``
    (config, logs, pids), started when needed; its workers run this environment's Python. Jobs reach it
    with ``REASONLAKE_FLINK_ADDRESS`` (:attr:`FlinkCluster.address`); they bring their own jars."""
    import sys

    folder = cluster_dir(settings)
    (folder / "conf").mkdir(parents=True, exist_ok=True)
    (folder / "log").mkdir(exist_ok=True)
    if running(settings) is None:
        ports: dict[str, int] = {}
        for name in ("rpc", "rest"):
            ports[name] = process.remembered_port(folder / f"{name}.port", avoid=set(ports.values()))
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
    folder = cluster_dir(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        cluster = running(settings)
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


def stop(settings: Settings, timeout_s: float = 60.0) -> bool:
    """Stop the home's Flink cluster (TaskManagers, then the JobManager); False when none was running."""
    folder = cluster_dir(settings)
    pids = _flink_pids(folder, "taskexecutor") + _flink_pids(folder, "standalonesession")
    if not pids:
        return False
    for pid in pids:
        process.signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(not process.gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if not process.gone(pid):
            process.signal_group(pid, signal.SIGKILL)
    for pid_file in folder.glob("flink-*.pid"):
        pid_file.unlink()
    return True
