"""PyFlink runtime shells: the execution environment, the Kafka source and sink, the Python process
functions, and the driver loop that submits a job and stops it once idle.

Every decision lives in plain modules (:mod:`flink.sink`, :mod:`flink.alerting`,
:mod:`flink.progress`); the functions here only connect them to Flink.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Mapping

from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.job_status import JobStatus
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import (DataStream, FlatMapFunction, KeyedProcessFunction, RuntimeContext,
                                StreamExecutionEnvironment)
from pyflink.datastream.connectors import DeliveryGuarantee, Sink
from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink, KafkaSource
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import add_jars_to_context_class_loader, get_j_env_configuration, get_java_class

from flink import progress as progress_mod
from flink.contract import KafkaEnvelope, parse_envelope
from flink.errors import JobFailedError
from flink.jars import pipeline_jars
from flink.jobconfig import AlertJobConfig, BatchPolicy, EmbedJobConfig, FlinkRuntime, IngestJobConfig, SourceConfig
from lake.catalog import TopicPartition

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
    return conf


def create_env(runtime: FlinkRuntime) -> StreamExecutionEnvironment:
    """A local mini-cluster environment, or a remote one when ``runtime.flink_address`` is set.

    A remote cluster runs the Python functions with ``runtime.python_executable``: its TaskManagers
    need the same interpreter path with this project installed.
    """
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
        j_env = gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment \
            .createRemoteEnvironment(host, int(port), conf._j_configuration, j_jars)
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
    for key in ("python.execution-mode", "python.pythonpath"):
        if conf.contains_key(key):
            j_conf.setString(key, conf.get_string(key, ""))
    return env


def _flink_python_jar() -> list[str]:
    import pyflink

    return [p.resolve().as_uri() for p in sorted((Path(pyflink.__file__).parent / "opt").glob("flink-python*.jar"))]


# ---- Kafka -------------------------------------------------------------------------------------
def kafka_source(source: SourceConfig, start: Mapping[TopicPartition, int]) -> KafkaSource:
    """Every topic matching ``source.topic_pattern`` (new ones found every discovery interval),
    emitting envelope strings, from ``start`` offsets (EARLIEST where a partition has none).

    Built on the Java builder because PyFlink's offset helpers name shaded classes that the plain
    connector jar does not have.
    """
    jvm = get_gateway().jvm
    builder = jvm.org.apache.flink.connector.kafka.source.KafkaSource.builder()
    builder.setBootstrapServers(source.bootstrap_servers)
    builder.setTopicPattern(jvm.java.util.regex.Pattern.compile(source.topic_pattern))
    builder.setGroupId(source.group_id)
    builder.setDeserializer(jvm.io.reasonlake.flink.KafkaEnvelopeDeserializationSchema())
    builder.setProperty("partition.discovery.interval.ms", str(source.discovery_interval_ms))
    builder.setProperty("commit.offsets.on.checkpoint", "false")  # Iceberg holds the offsets
    builder.setProperty("session.timeout.ms", "6000")
    offsets = jvm.org.apache.flink.python.util.HashMapWrapper(None, get_java_class(jvm.java.lang.Long))
    for (topic, partition), offset in start.items():
        offsets.put(jvm.org.apache.kafka.common.TopicPartition(topic, int(partition)), int(offset))
    initializer = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer.offsets(
        offsets.asMap(), jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST)
    builder.setStartingOffsets(initializer)
    return KafkaSource(builder.build())


def envelope_stream(env: StreamExecutionEnvironment, source: SourceConfig, start: Mapping[TopicPartition, int],
                    name: str):
    """The source as a stream of envelope strings keyed by ``topic#partition``.

    Keying by partition keeps each partition on one subtask, so its offsets grow monotonically
    there whatever the parallelism.
    """
    stream = env.from_source(kafka_source(source, start), WatermarkStrategy.no_watermarks(), name, Types.STRING())
    return stream.key_by(partition_key, key_type=Types.STRING())


def envelope_batches(env: StreamExecutionEnvironment, source: SourceConfig, start: Mapping[TopicPartition, int],
                     name: str, batch: BatchPolicy):
    """The source as commit batches: newline-joined envelope lines in UTF-8 bytes, each
    ``batch.batch_size`` envelopes or what arrived within ``batch.flush_interval_s`` of the first (Java
    ``EnvelopeBatcher``, chained to the source: no shuffle). The pending batch is operator state,
    checkpointed with the source's position.

    Each Kafka partition is read by one source subtask, and its batches stay on it (forward), so a
    partition's offsets grow monotonically on one subtask whatever the parallelism.
    """
    stream = env.from_source(kafka_source(source, start), WatermarkStrategy.no_watermarks(), name, Types.STRING())
    batcher = get_gateway().jvm.io.reasonlake.flink.EnvelopeBatcher(batch.batch_size,
                                                                    int(batch.flush_interval_s * 1000))
    out_type = Types.PRIMITIVE_ARRAY(Types.BYTE()).get_java_type_info()
    return DataStream(stream._j_data_stream.transform("commit-batches", out_type, batcher)).name("commit-batches")


def partition_key(line: str) -> str:
    """``<topic>#<partition>`` of an envelope line: unique per Kafka partition (never raises: a line
    that is no envelope gets a key too, and :func:`_parse` logs it)."""
    return "#".join(line.split("\t", 2)[:2])


def kafka_string_sink(bootstrap_servers: str, topic: str) -> KafkaSink:
    """AT_LEAST_ONCE string sink to ``topic`` (no transactions: Tansu shows aborted records)."""
    serializer = KafkaRecordSerializationSchema.builder().set_topic(topic) \
        .set_value_serialization_schema(SimpleStringSchema()).build()
    return KafkaSink.builder().set_bootstrap_servers(bootstrap_servers) \
        .set_record_serializer(serializer) \
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE) \
        .set_property("acks", "all") \
        .set_property("enable.idempotence", "false") \
        .build()


def discarding_sink() -> Sink:
    return Sink(get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())


# ---- process functions (thin shells) -----------------------------------------------------------
def _parse(line: str) -> KafkaEnvelope | None:
    try:
        return parse_envelope(line)
    except ValueError:  # never happens with the Java deserializer; never crash
        log.error("unreadable envelope dropped: %.200s", line)
        return None


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index; in thread mode PyFlink 2.3 calls a method Flink 2 removed from the Java
    RuntimeContext (``getIndexOfThisSubtask``, now on ``getTaskInfo()``)."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask()


class IngestFunction(FlatMapFunction):
    """A commit batch (:func:`envelope_batches`) → :func:`flink.contract.validate` each envelope →
    :class:`flink.sink.IcebergBatchSink`, committed in this call (rows and offsets in one Iceberg commit
    per table). Holds nothing between calls: the pending batch lives in Flink state, upstream, and an
    empty value announces it (reported as ``pending`` until the batch is committed)."""

    def __init__(self, config: IngestJobConfig) -> None:
        self.config = config

    def open(self, runtime_context: RuntimeContext) -> None:
        from flink.sink import IcebergBatchSink
        from lake import catalog

        self.subtask = subtask_index(runtime_context)
        self.reporter = progress_mod.ProgressReporter(self.config.progress_dir, self.config.run_id, self.subtask)
        self.sink = IcebergBatchSink(catalog.load(self.config.settings), self.config.batch, self.reporter)
        self.commits = 0

    def flat_map(self, value: bytes):
        from flink.contract import validate

        if not value:  # the batcher's notice that a batch opened upstream: not idle until it commits
            self.reporter.update(force=True, pending=1, last_record_at=time.time())
            return iter(())
        self._maybe_fail()
        now = datetime.now(timezone.utc)
        for line in value.decode().split("\n"):
            envelope = _parse(line) if line else None
            if envelope is not None:
                self.sink.add_outcome(validate(envelope, now, self.config.limits))
        if self.sink.flush():
            self.commits += 1
        if self.reporter.state.pending:  # a batch of nothing readable commits nothing: not pending either
            self.reporter.update(force=True, pending=0)
        return iter(())

    def _maybe_fail(self) -> None:
        """Fault injection: fail on the batch after the ``fail_after_commits``-th commit, before it is
        committed (once per run id)."""
        limit = self.config.fail_after_commits
        if limit is None or self.subtask != 0 or self.commits < limit:
            return
        marker = self.config.progress_dir / f"injected-failure-{self.config.run_id}"
        if not marker.exists():
            marker.touch()
            raise RuntimeError(f"injected failure after {self.commits} commits (fail_after_commits)")


class AlertFunction(KeyedProcessFunction):
    """envelope → :class:`flink.alerting.AlertEngine` → alert JSON out (to the Kafka sink); the
    engine's sink commits on size or on a processing-time timer."""

    def __init__(self, config: AlertJobConfig) -> None:
        self.config = config

    def open(self, runtime_context: RuntimeContext) -> None:
        from flink import alerting

        reporter = progress_mod.ProgressReporter(self.config.progress_dir, self.config.run_id,
                                                 subtask_index(runtime_context))
        self.engine = alerting.AlertEngine.open(self.config, reporter)  # loads the model once
        self.sink = self.engine.sink
        self._timer_for: float | None = None  # the deadline a timer is registered for

    def process_element(self, value: str, ctx: "KeyedProcessFunction.Context"):
        envelope = _parse(value)
        if envelope is None:
            return iter(())
        alerts = self.engine.process(envelope, datetime.now(timezone.utc))
        if self.sink.due():
            self.sink.flush()
        else:
            # one timer per batch (registering one per record costs a Java call each): the timer
            # flushes the whole sink, whichever partition key it was registered under
            deadline = self.sink.deadline()
            if deadline is not None and deadline != self._timer_for:
                ctx.timer_service().register_processing_time_timer(int(deadline * 1000) + 1)
                self._timer_for = deadline
        return iter(alerts)

    def on_timer(self, timestamp: int, ctx: "KeyedProcessFunction.OnTimerContext"):
        if self.sink.due(now=timestamp / 1000):
            self.sink.flush()
        return iter(())


class EmbedFunction(FlatMapFunction):
    """File task JSON → :class:`flink.batch_embedding.EmbedWorker` (embedder loaded once per subtask in
    ``open``) → outcome JSON (collected by the driver)."""

    def __init__(self, config: EmbedJobConfig) -> None:
        self.config = config

    def open(self, runtime_context: RuntimeContext) -> None:
        from flink.batch_embedding import EmbedWorker

        self.worker = EmbedWorker.open(self.config)
        self.subtask = subtask_index(runtime_context)

    def flat_map(self, value: str):
        from dataclasses import replace

        from flink.batch_embedding import FileTask

        yield replace(self.worker.process(FileTask.from_json(value)), subtask=self.subtask).to_json()


# ---- driver ------------------------------------------------------------------------------------
def run_until_idle(env: StreamExecutionEnvironment, job_name: str, progress_dir: Path, run_id: str,
                   expected_subtasks: int, until_idle_s: float | None,
                   on_progress: Callable[[progress_mod.Totals], None] | None = None,
                   poll_s: float = 0.5) -> progress_mod.Totals:
    """Submit the job, watch its progress files, cancel it once idle (or on Ctrl-C).

    Raises :class:`JobFailedError` if the job fails or ends on its own.
    """
    client = env.execute_async(job_name)
    last_print = 0.0
    totals = progress_mod.totals([])
    try:
        while True:
            time.sleep(poll_s)
            try:
                status = client.get_job_status().result()
            except Py4JJavaError as exc:  # the local mini-cluster shuts down once a job failed for good
                raise JobFailedError(f"Flink job {job_name} is gone ({exc.java_exception.toString()}); "
                                     f"task logs: {flink_log_dir()}") from None
            if status in _TERMINAL:
                _raise_failed(client, status)
            totals = progress_mod.totals(progress_mod.read_progress(progress_dir, run_id))
            now = time.time()
            if on_progress is not None and now - last_print >= 2.0:
                on_progress(totals)
                last_print = now
            if until_idle_s is not None and progress_mod.is_idle(totals, expected_subtasks, now, until_idle_s):
                break
    except KeyboardInterrupt:
        log.info("interrupted: cancelling %s", job_name)
    _cancel(client)
    totals = progress_mod.totals(progress_mod.read_progress(progress_dir, run_id))
    if on_progress is not None:
        on_progress(totals)
    return totals


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


def _raise_failed(client, status: JobStatus) -> None:
    cause = ""
    try:
        client.get_job_execution_result().result()
    except Exception as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    raise JobFailedError(f"Flink job ended with status {status.name}{': ' + cause if cause else ''}; "
                         f"task logs: {flink_log_dir()}")


def print_totals(label: str, keys: Iterable[str]) -> Callable[[progress_mod.Totals], None]:
    """A progress printer that stays quiet while nothing changes (a line at most every 30 s then)."""
    keys = tuple(keys)
    last = {"line": "", "at": 0.0}

    def report(t: progress_mod.Totals) -> None:
        parts = ", ".join(f"{k} {t.count(k)}" for k in keys)
        line = f"[{label}] {parts}, duplicates skipped {t.duplicates_skipped}, pending {t.pending}"
        if line != last["line"] or time.monotonic() - last["at"] > 30:
            print(line, flush=True)
            last.update(line=line, at=time.monotonic())

    return report
