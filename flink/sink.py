"""Idempotent batched Iceberg sinks fed from Kafka (pure Python, no Flink).

Exactly-once into Iceberg without Flink checkpoints: every commit appends a batch's rows and,
in the same atomic commit, the highest Kafka offset the batch processed per (topic, partition)
(:func:`lake.catalog.append`). Each table keeps its own offsets, and every table of a sink gets
the offsets of every record the batch processed, so none lags behind. On open the sink reads
them back; a replayed record whose offset a table already covers is not written to it again.
A job resumes at :func:`start_offsets`, the first offset some table does not cover yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pyiceberg.catalog import Catalog

from flink.contract import Accepted, KafkaEnvelope, Outcome
from flink.jobconfig import FEEDBACK_TOPIC_PATTERN, BatchPolicy
from flink.progress import ProgressReporter, position_key
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.schemas import RAW_FEEDBACK, RAW_FEEDBACK_REJECTED
from lake.settings import Settings
from services.broker import PruneReport, prune_records

INGEST_TABLES = (RAW_FEEDBACK.identifier, RAW_FEEDBACK_REJECTED.identifier)


def prune_ingested(
    settings: Settings, catalog: Catalog, raw_retention_days: int | None = None, now: datetime | None = None
) -> PruneReport:
    """The embedded broker's stored records of the feedback topics that ingestion has committed to Iceberg
    (below :func:`start_offsets`), deleted once ``settings.broker_retention_days`` old, or
    ``raw_retention_days`` when shorter, so the broker's copy of the original texts follows the raw
    retention (:func:`services.broker.prune_records`). Nothing ingestion has still to read is ever deleted."""
    days = min(settings.broker_retention_days, raw_retention_days or settings.broker_retention_days)
    older_than = (now or datetime.now(UTC)) - timedelta(days=days)
    return replace(prune_records(settings, start_offsets(catalog), older_than, FEEDBACK_TOPIC_PATTERN), days=days)


def start_offsets(catalog: Catalog, identifiers: Sequence[str] = INGEST_TABLES) -> dict[TopicPartition, int]:
    """Where a job feeding ``identifiers`` resumes: per partition, the first offset not covered by all.

    A partition missing from any of the tables is left out (the source starts it at EARLIEST),
    so a record is only ever skipped by a table whose own committed offset covers it.
    """
    per_table = [lake_catalog.committed_offsets(lake_catalog.ensure_table(catalog, i)) for i in identifiers]
    if not per_table:
        return {}
    common = set(per_table[0]).intersection(*per_table[1:])
    return {tp: min(offsets[tp] for offsets in per_table) + 1 for tp in sorted(common)}


class _TableBuffer:
    """One table's buffered rows and the offsets already committed in it."""

    def __init__(self, catalog: Catalog, identifier: str, stamp_field: str | None) -> None:
        self.identifier = identifier
        self.stamp_field = stamp_field
        self.table = lake_catalog.ensure_table(catalog, identifier)
        self.committed: dict[TopicPartition, int] = lake_catalog.committed_offsets(self.table)
        self.rows: list[dict] = []

    def covers(self, tp: TopicPartition, offset: int) -> bool:
        return offset <= self.committed.get(tp, -1)

    def commit(self, offsets: Mapping[TopicPartition, int], now: datetime) -> int:
        rows = [{**r, self.stamp_field: now} for r in self.rows] if self.stamp_field else self.rows
        data = lake_catalog.to_arrow(self.identifier, rows)
        self.table = lake_catalog.append(self.table, data, offsets=offsets)
        for tp, o in offsets.items():
            self.committed[tp] = max(o, self.committed.get(tp, -1))
        written = len(self.rows)
        self.rows = []
        return written


class OffsetBatchSink:
    """Buffers rows for one or more tables and commits them with the offsets they cover.

    ``tables`` maps each identifier to the timestamp column stamped at commit (or None).
    :meth:`add` takes every record the job processed, with or without a row, so offsets advance
    past records that produce nothing (e.g. messages that raise no alert).
    """

    def __init__(
        self,
        catalog: Catalog,
        tables: Mapping[str, str | None],
        policy: BatchPolicy = BatchPolicy(),
        reporter: ProgressReporter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tables = {i: _TableBuffer(catalog, i, stamp) for i, stamp in tables.items()}
        self.policy = policy
        self._reporter = reporter
        self._clock = clock
        self._batch_offsets: dict[TopicPartition, int] = {}
        self._positions: dict[str, int] = {}  # "topic#partition" -> highest offset this run committed
        self._first_pending_at: float | None = None
        self.pending = 0
        self.records_seen = 0
        self.duplicates_skipped = 0
        self.counts: dict[str, int] = {}
        self.last_record_at: float | None = None

    def committed(self, identifier: str) -> dict[TopicPartition, int]:
        return dict(self._tables[identifier].committed)

    def add(
        self,
        envelope: KafkaEnvelope,
        identifier: str | None = None,
        row: Mapping | None = None,
        count: str | None = None,
    ) -> bool:
        """Take one processed record; ``row`` (if any) goes to ``identifier`` unless that table covers
        the record's offset already.

        Returns False when the row was skipped as a duplicate. ``count`` names the counter to bump
        for a record that is new to its table.
        """
        now = self._clock()
        tp = (envelope.topic, envelope.partition)
        self._batch_offsets[tp] = max(envelope.offset, self._batch_offsets.get(tp, -1))
        self.records_seen += 1
        self.pending += 1
        self.last_record_at = now
        if self._first_pending_at is None:
            self._first_pending_at = now
        fresh = True
        if row is not None:
            if identifier is None:
                raise ValueError("a row needs the identifier of its table")
            buffer = self._tables[identifier]
            if buffer.covers(tp, envelope.offset):
                self.duplicates_skipped += 1
                fresh = False
            else:
                buffer.rows.append(dict(row))
        if fresh and count:
            self.counts[count] = self.counts.get(count, 0) + 1
        self._report(force=self.pending == 1)
        return fresh

    def deadline(self) -> float | None:
        """Clock time by which the pending records must be committed (None when nothing is pending)."""
        return None if self._first_pending_at is None else self._first_pending_at + self.policy.flush_interval_s

    def due(self, now: float | None = None) -> bool:
        if self.pending == 0:
            return False
        if self.pending >= self.policy.batch_size:
            return True
        deadline = self.deadline()
        return deadline is not None and (self._clock() if now is None else now) >= deadline

    def flush(self) -> int:
        """Commit every table (in order) with this batch's offsets; returns the rows written."""
        if self.pending == 0:
            return 0
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        written = sum(t.commit(self._batch_offsets, now) for t in self._tables.values())
        for (topic, partition), offset in self._batch_offsets.items():
            key = position_key(topic, partition)
            self._positions[key] = max(offset, self._positions.get(key, -1))
        self._batch_offsets = {}
        self._first_pending_at = None
        self.pending = 0
        self._report(force=True)
        return written

    def _report(self, force: bool) -> None:
        if self._reporter is not None:
            self._reporter.update(
                force=force,
                last_record_at=self.last_record_at,
                pending=self.pending,
                records_seen=self.records_seen,
                duplicates_skipped=self.duplicates_skipped,
                counts=dict(self.counts),
                positions=dict(self._positions),
            )


DUPLICATE_MESSAGE_ID = "duplicate_message_id"


class IcebergBatchSink(OffsetBatchSink):
    """The ingest sink: Accepted → ``raw.feedback`` (stamped ``ingested_at``), Rejected →
    ``raw.feedback_rejected`` (stamped ``rejected_at``).

    A ``message_id`` seen again within its source is not an error (raw is append-only; dbt
    deduplicates): the row lands and the counter ``duplicate_message_id`` goes up. The ids are
    remembered per run, up to ``max_remembered_ids`` (then forgotten, so memory stays bounded).
    """

    def __init__(
        self,
        catalog: Catalog,
        policy: BatchPolicy = BatchPolicy(),
        reporter: ProgressReporter | None = None,
        clock: Callable[[], float] = time.time,
        max_remembered_ids: int = 2_000_000,
    ) -> None:
        super().__init__(
            catalog,
            {RAW_FEEDBACK.identifier: "ingested_at", RAW_FEEDBACK_REJECTED.identifier: "rejected_at"},
            policy,
            reporter,
            clock,
        )
        self._seen_ids: set[tuple[str, str]] = set()
        self._max_remembered_ids = max_remembered_ids

    def add_outcome(self, outcome: Outcome) -> bool:
        if isinstance(outcome, Accepted):
            fresh = self.add(outcome.envelope, RAW_FEEDBACK.identifier, outcome.row, "accepted")
            if fresh:
                self._count_repeated_id((outcome.row["source"], outcome.row["message_id"]))
            return fresh
        # rejected_at is stamped at commit; Rejected.row needs a value now
        row = outcome.row(rejected_at=None)  # type: ignore[arg-type]
        return self.add(outcome.envelope, RAW_FEEDBACK_REJECTED.identifier, row, "rejected")

    def _count_repeated_id(self, key: tuple[str, str]) -> None:
        if key in self._seen_ids:
            self.counts[DUPLICATE_MESSAGE_ID] = self.counts.get(DUPLICATE_MESSAGE_ID, 0) + 1
            return
        if len(self._seen_ids) >= self._max_remembered_ids:
            self._seen_ids.clear()
        self._seen_ids.add(key)

    def add_all(self, outcomes: Iterable[Outcome]) -> int:
        """Add many outcomes; returns how many were new."""
        return sum(self.add_outcome(o) for o in outcomes)
