"""The Flink runtime of every job: the execution environment (local mini-cluster or a remote
JobManager) and the driver loop that submits a job and stops it once idle.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration
from pyflink.common.job_status import JobStatus
from pyflink.datastream import (
    StreamExecutionEnvironment,
)
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import add_jars_to_context_class_loader, get_j_env_configuration

from flink import progress as progress_mod
from flink.errors import GatewayStartError, JobFailedError
from flink.jars import pipeline_jars
from flink.jobconfig import FlinkRuntime
from flink.watches import BacklogWatch, OutageWatch
from lake.settings import FLINK_LOCATION_VARS

log = logging.getLogger(__name__)

_TERMINAL = {JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED}


def flink_log_dir() -> Path:
    """Where the local mini-cluster and the Python workers log (task errors end up here)."""
    import pyflink

    return Path(pyflink.__file__).parent / "log"


# ---- environment -------------------------------------------------------------------------------
def _configuration(runtime: FlinkRuntime) -> Configuration:
    """Options common to local and remote runs (the jars are added per target in :func:`create_env`)."""
    conf = Configuration()
    conf.set_string("python.executable", runtime.python_executable)
    conf.set_string("python.client.executable", runtime.python_executable)
    conf.set_string("restart-strategy.type", "fixed-delay")
    conf.set_string("restart-strategy.fixed-delay.attempts", str(runtime.restart_attempts))
    conf.set_string("restart-strategy.fixed-delay.delay", f"{int(runtime.restart_delay_s * 1000)} ms")
    conf.set_string("parallelism.default", str(runtime.parallelism))
    if runtime.checkpoint_interval_s:
        conf.set_string("execution.checkpointing.interval", f"{int(runtime.checkpoint_interval_s * 1000)} ms")
    if runtime.checkpoint_dir:
        conf.set_string("execution.checkpointing.storage", "filesystem")
        conf.set_string("execution.checkpointing.dir", runtime.checkpoint_dir)
    if runtime.python_mode == "thread":
        # the embedded interpreter is the base Python: give it this environment's import path
        conf.set_string("python.execution-mode", "thread")
        conf.set_string("python.pythonpath", os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    if runtime.python_bundle_size:
        conf.set_string("python.fn-execution.bundle.size", str(runtime.python_bundle_size))
    if runtime.python_bundle_time_ms:
        conf.set_string("python.fn-execution.bundle.time", str(runtime.python_bundle_time_ms))
    if runtime.buffer_timeout_ms is not None:
        conf.set_string("execution.buffer-timeout.interval", f"{runtime.buffer_timeout_ms} ms")
    if runtime.retain_checkpoints:
        conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    if runtime.restore_path:
        conf.set_string("execution.state-recovery.path", runtime.restore_path)
    return conf


# Options get_execution_environment does not carry over into the environment by itself.
_CARRIED = (
    "python.execution-mode",
    "python.pythonpath",
    "python.fn-execution.bundle.size",
    "python.fn-execution.bundle.time",
    "execution.checkpointing.externalized-checkpoint-retention",
    "execution.state-recovery.path",
    "execution.buffer-timeout.interval",
)


_GATEWAY_EXITED = "Java gateway process exited before sending its port number"


def start_gateway() -> Any:
    """PyFlink's Java gateway, started (once per process; later calls return it). A JVM that exits before
    handing over its port raises :class:`GatewayStartError` with the JVM's own reason and the Flink
    location variables it was started with (PyFlink's message ends in a Java stack trace, which one CLI
    line would cut before the cause)."""
    try:
        return get_gateway()
    except RuntimeError as exc:
        if _GATEWAY_EXITED not in str(exc):
            raise
        where = ", ".join(f"{k}={os.environ[k]}" for k in sorted(FLINK_LOCATION_VARS) if k in os.environ)
        reason = _jvm_reason(str(exc)) + (f" ({where})" if where else "")
        raise GatewayStartError(f"PyFlink's Java gateway did not start: {reason}") from exc


def _jvm_reason(message: str) -> str:
    """The JVM's own reason in a gateway launch failure: its deepest ``Caused by:`` line, else the line of
    the exception in ``main``, else the message's first line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    caused = [line for line in lines if line.startswith("Caused by:")]
    thrown = [line for line in lines if line.startswith("Exception in thread")]
    return (caused or thrown or lines or [message])[-1]


def create_env(runtime: FlinkRuntime) -> StreamExecutionEnvironment:
    """A local mini-cluster environment, or a remote one when ``runtime.flink_address`` is set.

    A remote cluster runs the Python functions with ``runtime.python_executable``: its TaskManagers
    need the same interpreter path with this project installed.
    """
    start_gateway()  # before anything below touches the JVM
    jars = pipeline_jars()
    conf = _configuration(runtime)
    if runtime.flink_address:
        host, _, port = runtime.flink_address.rpartition(":")
        gateway = get_gateway()
        add_jars_to_context_class_loader(jars)
        jars = jars + _flink_python_jar()  # a plain cluster lacks the Python operators
        j_jars = gateway.new_array(gateway.jvm.String, len(jars))
        for i, url in enumerate(jars):
            j_jars[i] = url.removeprefix("file://")
        j_env = (
            gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment.createRemoteEnvironment(
                host, int(port), conf._j_configuration, j_jars
            )
        )
        env = StreamExecutionEnvironment(j_env)
    else:
        env = StreamExecutionEnvironment.get_execution_environment(conf)
        env.add_jars(*jars)  # pipeline.jars, and loaded into the client JVM (the source is built there)
    env.set_parallelism(runtime.parallelism)
    for path in runtime.python_files:
        env.add_python_file(path)
    # get_execution_environment copies only some options: make sure the Python ones are set.
    j_conf = get_j_env_configuration(env._j_stream_execution_environment)
    j_conf.setString("python.executable", runtime.python_executable)
    for key in _CARRIED:
        if conf.contains_key(key):
            j_conf.setString(key, conf.get_string(key, ""))
    return env


def _flink_python_jar() -> list[str]:
    import pyflink

    return [p.resolve().as_uri() for p in sorted((Path(pyflink.__file__).parent / "opt").glob("flink-python*.jar"))]


# ---- driver ------------------------------------------------------------------------------------
def run_until_idle(
    env: StreamExecutionEnvironment,
    job_name: str,
    progress: Sequence[tuple[Path, int]],
    run_id: str,
    until_idle_s: float | None,
    on_progress: Callable[[progress_mod.Totals], None] | None = None,
    poll_s: float = 0.5,
    savepoint_dir: str | None = None,
    first_record_wait_s: float = 20.0,
    outage: Callable[[], str | None] | None = None,
    min_records: int = 0,
    backlog: Callable[[progress_mod.Totals], int] | None = None,
) -> tuple[progress_mod.Totals, str | None]:
    """Submit the job, watch its progress files (``progress``: each reporting operator's folder and
    subtask count), stop it once idle (or on Ctrl-C); before the first record it waits at least
    ``first_record_wait_s``; while a subtask never reported, or fewer than ``min_records`` records were
    seen (a caller that knows how many wait, e.g. the demo), it waits longer (:func:`flink.progress.is_idle`).

    With ``savepoint_dir`` the job stops with a savepoint there (its state kept for the next run;
    the savepoint's path is returned), else it is cancelled. Raises :class:`JobFailedError` if the
    job fails or ends on its own.

    ``backlog`` (asked at most every 2 s, once the job looks idle) counts the records the broker holds
    that the job has not read (e.g. a partition whose first fetch is slow under load); while there are
    some it waits longer too, and says so once.

    ``outage`` (checked every 2 s) names a service the job needs and cannot reach (e.g. the broker),
    or returns None: while it lasts the driver says so once, does not call the job idle, and after it
    waits ``until_idle_s`` more; the job's clients reconnect by themselves.
    """
    client = env.execute_async(job_name)
    last_print = 0.0
    watch = OutageWatch(job_name, outage)
    behind = BacklogWatch(job_name, backlog)

    all_open = False  # every subtask of every reporting operator has reported

    def read() -> progress_mod.Totals:
        nonlocal all_open
        per_operator = [(progress_mod.read_progress(folder, run_id), n) for folder, n in progress]
        all_open = all(len(reported) >= n for reported, n in per_operator)
        return progress_mod.totals([p for reported, _ in per_operator for p in reported])

    totals = progress_mod.totals([])
    with ctrl_c_as_request() as stop_requested:
        while not stop_requested.is_set():
            time.sleep(poll_s)
            try:
                status = client.get_job_status().result()
            except Py4JJavaError as exc:  # the local mini-cluster shuts down once a job failed for good
                causes = task_failures(progress, run_id)
                raise JobFailedError(
                    f"Flink job {job_name} failed"
                    + (f": {causes}" if causes else f" and is gone ({exc.java_exception.toString()})")
                    + f"; task logs: {flink_log_dir()}"
                ) from None
            if status in _TERMINAL:
                _raise_failed(client, status, task_failures(progress, run_id))
            totals = read()
            now = time.time()
            if on_progress is not None and now - last_print >= 2.0:
                on_progress(totals)
                last_print = now
            watch.check(now)
            if until_idle_s is not None and watch.quiet_for(now) >= until_idle_s:
                idle = functools.partial(
                    progress_mod.is_idle,
                    totals,
                    now,
                    until_idle_s,
                    first_record_wait_s,
                    all_open=all_open,
                    min_records=min_records,
                )
                if idle() and idle(behind=behind.check(totals, now)):
                    break
        else:
            log.info("interrupted: stopping %s", job_name)
    savepoint = _stop_with_savepoint(client, savepoint_dir) if savepoint_dir else None
    if savepoint is None:
        _cancel(client)
    totals = read()
    if on_progress is not None:
        on_progress(totals)
    return totals, savepoint


@contextmanager
def ctrl_c_as_request() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) sets the yielded event instead of raising ``KeyboardInterrupt`` wherever the driver
    happens to be (an alert job once ran on minutes after Ctrl-C and never reached its stop; the likely
    cause, not reproduced on demand, is the exception landing inside a py4j call). The watch loop checks
    the event after each poll. Outside the main thread (no signal handler can be set there) the event is never set."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: requested.set())
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_with_savepoint(client, savepoint_dir: str, timeout_s: float = 120.0) -> str | None:
    """Stop the job keeping its state (no drain: pending batches and timers stay in the savepoint); a
    savepoint not taken within ``timeout_s`` counts as failed (the job is then cancelled)."""
    # PyFlink 2.3's JobClient.stop_with_savepoint calls a Java signature Flink 2 removed: call Java directly
    formats = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType
    try:
        stopping = client._j_job_client.stopWithSavepoint(False, savepoint_dir, formats.CANONICAL)
        return str(stopping.get(int(timeout_s), get_gateway().jvm.java.util.concurrent.TimeUnit.SECONDS))
    except Exception as exc:  # the job cannot take a savepoint right now: cancel it (its checkpoints remain)
        log.warning("stop with savepoint failed (%s): cancelling", str(exc).splitlines()[0] if str(exc) else exc)
        return None


def _cancel(client, timeout_s: float = 30.0) -> None:
    try:
        client.cancel().result()
    except Exception as exc:  # already finished or failed: nothing to cancel
        log.debug("cancel: %s", exc)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if client.get_job_status().result() in _TERMINAL:
                return
        except Exception:  # the per-job mini-cluster is gone once the job ended
            return
        time.sleep(0.2)


def task_failures(progress: Sequence[tuple[Path, int]], run_id: str) -> str:
    """What the job's Python tasks said made them fail (:func:`flink.progress.record_failure`), one line."""
    causes = dict.fromkeys(c for folder, _ in progress for c in progress_mod.read_failures(folder, run_id))
    return "; ".join(causes)


def _raise_failed(client, status: JobStatus, causes: str = "") -> None:
    cause = causes
    try:
        client.get_job_execution_result().result()
    except Exception as exc:
        cause = cause or (str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    raise JobFailedError(
        f"Flink job ended with status {status.name}{': ' + cause if cause else ''}; task logs: {flink_log_dir()}"
    )


def print_totals(label: str, keys: Iterable[str]) -> Callable[[progress_mod.Totals], None]:
    """A progress printer that stays quiet while nothing changes (a line at most every 30 s then)."""
    keys = tuple(keys)
    last: dict[str, Any] = {"line": "", "at": 0.0}

    def report(t: progress_mod.Totals) -> None:
        parts = ", ".join(f"{k} {t.count(k)}" for k in keys)
        line = f"[{label}] {parts}, duplicates skipped {t.duplicates_skipped}, pending {t.pending}"
        if line != last["line"] or time.monotonic() - last["at"] > 30:
            print(line, flush=True)
            last.update(line=line, at=time.monotonic())

    return report
