"""PyFlink shells of the jobs: the Kafka source and sinks and the Python process functions.

Every decision lives in plain modules (:mod:`flink.sink`, :mod:`flink.alerting`,
:mod:`flink.progress`); the functions here only connect them to Flink. The environment and the
driver loop are in :mod:`flink.runtime`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import (
    DataStream,
    FlatMapFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors import DeliveryGuarantee, Sink
from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink, KafkaSource
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import get_java_class

from flink import progress as progress_mod
from flink.contract import KafkaEnvelope, parse_envelope
from flink.jobconfig import AlertHygiene, AlertJobConfig, BatchPolicy, EmbedJobConfig, IngestJobConfig, SourceConfig
from lake.catalog import TopicPartition

log = logging.getLogger(__name__)


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
    if source.fetch_max_wait_ms is not None:
        builder.setProperty("fetch.max.wait.ms", str(source.fetch_max_wait_ms))
    offsets = jvm.org.apache.flink.python.util.HashMapWrapper(None, get_java_class(jvm.java.lang.Long))
    for (topic, partition), offset in start.items():
        offsets.put(jvm.org.apache.kafka.common.TopicPartition(topic, int(partition)), int(offset))
    initializer = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer.offsets(
        offsets.asMap(), jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    )
    builder.setStartingOffsets(initializer)
    return KafkaSource(builder.build())


def envelope_batches(
    env: StreamExecutionEnvironment,
    source: SourceConfig,
    start: Mapping[TopicPartition, int],
    name: str,
    batch: BatchPolicy,
):
    """The source as batches of envelope lines (:func:`line_batches`), chained to the source: no
    shuffle. The pending batch is operator state, checkpointed with the source's position.

    Each Kafka partition is read by one source subtask, and its batches stay on it (forward), so a
    partition's offsets grow monotonically on one subtask whatever the parallelism.
    """
    stream = env.from_source(kafka_source(source, start), WatermarkStrategy.no_watermarks(), name, Types.STRING())
    return line_batches(stream.uid(f"{name}-source"), batch, "batches")


def line_batches(stream: DataStream, batch: BatchPolicy, name: str) -> DataStream:
    """A string stream as batches: newline-joined lines in UTF-8 bytes, each ``batch.batch_size`` lines or
    what arrived within ``batch.flush_interval_s`` of the first (Java ``EnvelopeBatcher``, the pending
    batch in operator state; an empty record announces each batch as it opens)."""
    batcher = get_gateway().jvm.io.reasonlake.flink.EnvelopeBatcher(
        batch.batch_size, max(1, int(batch.flush_interval_s * 1000))
    )
    out_type = Types.PRIMITIVE_ARRAY(Types.BYTE()).get_java_type_info()
    j_stream = stream._j_data_stream.transform(name, out_type, batcher).uid(name)
    return DataStream(j_stream).name(name)


def alert_hygiene(candidates: DataStream, hygiene: AlertHygiene) -> tuple[DataStream, DataStream]:
    """Candidate alert lines (:func:`flink.alerting.candidate_line`) through the Java hygiene operators, in
    Flink keyed state: one alert per message (``AlertDeduplicator``, keyed by the message key), then at
    most ``max_alerts_per_reason`` per window per reason and a digest of the rest (``AlertRateLimiter``,
    keyed by the reason id). Returns the JSON to send to ``feedback.alerts`` and the accounting lines
    (every candidate with its outcome, and the digests)."""
    jvm = get_gateway().jvm
    flink = jvm.io.reasonlake.flink
    string = Types.STRING().get_java_type_info()
    deduplicated = (
        candidates._j_data_stream.keyBy(flink.FieldKey(0))
        .process(flink.AlertDeduplicator(int(hygiene.dedup_ttl_s)), string)
        .name("alert-dedup")
        .uid("alert-dedup")
    )
    limited = (
        deduplicated.keyBy(flink.FieldKey(2))
        .process(flink.AlertRateLimiter(hygiene.max_alerts_per_reason, int(hygiene.window_s * 1000)), string)
        .name("alert-rate-limit")
        .uid("alert-rate-limit")
    )
    return DataStream(limited), DataStream(limited.getSideOutput(flink.AlertRateLimiter.accounting()))


def kafka_string_sink(bootstrap_servers: str, topic: str, linger_ms: int = 5) -> KafkaSink:
    """AT_LEAST_ONCE string sink to ``topic`` (no transactions: Tansu shows aborted records); the
    producer waits at most ``linger_ms`` to batch (alerts are latency-bound)."""
    serializer = (
        KafkaRecordSerializationSchema.builder()
        .set_topic(topic)
        .set_value_serialization_schema(SimpleStringSchema())
        .build()
    )
    return (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_record_serializer(serializer)
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .set_property("acks", "all")
        .set_property("enable.idempotence", "false")
        .set_property("linger.ms", str(linger_ms))
        .build()
    )


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
        try:
            return self._commit(value)
        except Exception as exc:
            self.reporter.failed(exc)
            raise

    def _commit(self, value: bytes):
        from flink.contract import validate

        if not value:  # the batcher's notice that a batch opened upstream: not idle until it commits
            self.reporter.update(force=True, pending=1, last_record_at=time.time())
            return iter(())
        self._maybe_fail()
        now = datetime.now(UTC)
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


class ClassifyFunction(FlatMapFunction):
    """A micro-batch of envelopes (:func:`envelope_batches`) → :class:`flink.alerting.AlertEngine` (the
    live reasons refreshed between batches, one embedding batch per call) → candidate alert lines."""

    def __init__(self, config: AlertJobConfig) -> None:
        self.config = config

    def open(self, runtime_context: RuntimeContext) -> None:
        from flink import alerting

        self.reporter = progress_mod.ProgressReporter(
            self.config.progress_dir / "classify", self.config.run_id, subtask_index(runtime_context)
        )
        self.engine = alerting.AlertEngine.open(self.config, say=lambda m: print(f"[alerts] {m}", flush=True))

    def flat_map(self, value: bytes):
        if not value:  # a batch opened upstream: not idle until it is classified
            self.reporter.update(force=True, pending=1, last_record_at=time.time())
            return iter(())
        envelopes = [e for e in (_parse(line) for line in value.decode().split("\n") if line) if e is not None]
        try:
            lines = self.engine.process_batch(envelopes, datetime.now(UTC))
        except Exception as exc:
            self.reporter.failed(exc)
            raise
        state = self.reporter.state
        positions = dict(state.positions)
        for e in envelopes:  # what `reasonlake status` compares with the broker's end offsets (the lag)
            key = progress_mod.position_key(e.topic, e.partition)
            positions[key] = max(positions.get(key, -1), e.offset)
        self.reporter.update(
            force=True,
            pending=0,
            records_seen=state.records_seen + len(envelopes),
            last_record_at=time.time(),
            counts=dict(self.engine.counts),
            positions=positions,
        )
        return iter(lines)


class AlertWriterFunction(FlatMapFunction):
    """A batch of accounting lines (the hygiene's outcomes) → :class:`flink.alerting.AlertWriter`: the sent
    alerts appended to ``alerts.alerts`` in this call (nothing held between calls), every outcome counted."""

    def __init__(self, config: AlertJobConfig) -> None:
        self.config = config

    def open(self, runtime_context: RuntimeContext) -> None:
        from flink.alerting import AlertWriter
        from lake import catalog

        self.reporter = progress_mod.ProgressReporter(
            self.config.progress_dir / "deliver", self.config.run_id, subtask_index(runtime_context)
        )
        self.writer = AlertWriter(catalog.load(self.config.settings))

    def flat_map(self, value: bytes):
        if not value:
            self.reporter.update(force=True, pending=1, last_record_at=time.time())
            return iter(())
        try:
            self.writer.write([line for line in value.decode().split("\n") if line])
        except Exception as exc:
            self.reporter.failed(exc)
            raise
        self.reporter.update(force=True, pending=0, counts=dict(self.writer.counts))
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
