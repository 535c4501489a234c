"""Table maintenance: delete raw rows past their retention, compact small data files per partition
and expire old snapshots.

pyiceberg 0.12 has no ``rewrite_data_files``: :func:`compact` reads one partition and overwrites it
with a filter on exactly that partition, in one commit that requires the main snapshot it read
(a concurrent ingest commit makes it fail; it then re-reads and retries), so no row is lost or doubled.
Table properties (the Kafka offsets of :func:`lake.catalog.append`, ``reasonlake.kafka-offset.*``)
are untouched by both operations: expiring snapshots never loses the sink's bookkeeping, which lives
in the properties, not in snapshot history. Expiring removes snapshots from the metadata only;
:func:`remove_orphan_files` then deletes the data, manifest and metadata files no remaining snapshot
needs, and every table deletes its old metadata files on commit (``TABLE_PROPERTIES`` of
:mod:`lake.catalog`), so disk use stays bounded under a steady ingest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, TypeVar

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, GreaterThanOrEqual, IsNull, LessThan
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, IdentityTransform

from lake import catalog as lake_catalog
from lake.errors import CommitConflictError, UnsupportedPartitioningError
from lake.schemas import ALERTS

log = logging.getLogger(__name__)
R = TypeVar("R")

MAINTENANCE_SUMMARY_KEY = "reasonlake.maintenance"
RAW_TABLES = ("raw.feedback", "raw.feedback_rejected")
# what a streaming job commits to every few seconds: every file and snapshot of them is maintained here
# (the ml tables take one commit a week each; their snapshots are the weeks' history)
STREAMED_TABLES = (*RAW_TABLES, ALERTS.identifier)
# the time a raw row's retention counts from (each table's day-partition column: whole files go)
RETENTION_COLUMNS = {"raw.feedback": "created_at", "raw.feedback_rejected": "rejected_at"}


@dataclass(frozen=True)
class OrphanReport:
    table: str
    files_deleted: int
    bytes_deleted: int


@dataclass(frozen=True)
class RetentionReport:
    table: str
    cutoff: datetime | None  # rows before it were deleted (None: no retention)
    rows_deleted: int


@dataclass(frozen=True)
class CompactionReport:
    table: str
    partitions_compacted: int
    files_before: int
    files_after: int
    rows: int
    partitions_deferred: int = 0  # still conflicting with other writers' commits: left for the next run


@dataclass(frozen=True)
class ExpireReport:
    table: str
    snapshots_before: int
    snapshots_after: int
    deferred: bool = False  # still conflicting with other writers' commits: left for the next run


def data_files(table: Table) -> list[dict[str, Any]]:
    """The current data files: path, partition (dict), record count, size in bytes."""
    if table.current_snapshot() is None:
        return []
    files = table.inspect.files().select(["content", "file_path", "partition", "record_count", "file_size_in_bytes"])
    return [f for f in files.to_pylist() if f["content"] == 0]


def _partition_filter(table: Table, partition: dict[str, Any]) -> BooleanExpression:
    """A row filter selecting exactly the rows of one partition."""
    expr: BooleanExpression = AlwaysTrue()
    schema = table.schema()
    for field in table.spec().fields:
        column = schema.find_column_name(field.source_id)
        value = partition.get(field.name)
        if isinstance(field.transform, IdentityTransform):
            part = IsNull(column) if value is None else EqualTo(column, value)
        elif isinstance(field.transform, DayTransform):
            if value is None:
                part = IsNull(column)
            else:
                day = value if isinstance(value, date) else date(1970, 1, 1) + timedelta(days=int(value))
                start = datetime.combine(day, dtime(), tzinfo=UTC)
                part = And(
                    GreaterThanOrEqual(column, start.isoformat()),
                    LessThan(column, (start + timedelta(days=1)).isoformat()),
                )
        else:
            raise UnsupportedPartitioningError(f"{table.name()}: cannot compact partition transform {field.transform}")
        expr = part if isinstance(expr, AlwaysTrue) else And(expr, part)
    return expr


def _key(partition: dict[str, Any]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in (partition or {}).items()))


def compact(table: Table, target_file_mb: float = 64.0, min_files: int = 2, retries: int = 5) -> CompactionReport:
    """Rewrite every partition holding at least ``min_files`` data files smaller than ``target_file_mb``
    into as few files as pyiceberg writes (``write.target-file-size-bytes``, 512 MB by default).

    Reads a whole partition into memory (a day of ``raw.feedback``); retried on commit conflicts. A
    rewrite commits only if nothing else committed since it read the partition, so a partition the
    ingest job keeps committing to (every second) can lose every time: after ``retries`` conflicts it
    is deferred to the next run (counted in the report) instead of failing the maintenance.
    """
    small = target_file_mb * 1024 * 1024
    files = data_files(table)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for f in files:
        groups[_key(f["partition"])].append(f)
    todo = [
        fs[0]["partition"] or {}
        for fs in groups.values()
        if sum(f["file_size_in_bytes"] < small for f in fs) >= min_files
    ]
    rows, deferred = 0, 0
    for partition in todo:
        done = _unless_busy(table, _rewrite_attempt(_partition_filter(table, partition)), "compaction", retries)
        rows += done or 0
        deferred += done is None
    table.refresh()
    return CompactionReport(
        table=".".join(table.name()[-2:]),
        partitions_compacted=len(todo) - deferred,
        files_before=len(files),
        files_after=len(data_files(table)),
        rows=rows,
        partitions_deferred=deferred,
    )


def _unless_busy(table: Table, attempt: Callable[[Table], R], what: str, retries: int) -> R | None:
    """:func:`lake.catalog.commit_retrying`, or None (logged) when other writers' commits still win
    after ``retries`` attempts: maintenance leaves that work for its next run instead of failing."""
    try:
        return lake_catalog.commit_retrying(table, attempt, what, retries)
    except CommitConflictError as exc:
        log.warning("%s deferred to the next run: %s", what, exc)
        return None


def _rewrite_attempt(row_filter: BooleanExpression) -> Callable[[Table], int]:
    def attempt(t: Table) -> int:
        t.refresh()
        snapshot = t.current_snapshot()
        data = t.scan(row_filter=row_filter, snapshot_id=snapshot.snapshot_id if snapshot else None).to_arrow()
        # overwrite = delete the partition's files + append its rows, committed only if main is
        # still the snapshot read above
        t.overwrite(data, overwrite_filter=row_filter, snapshot_properties={MAINTENANCE_SUMMARY_KEY: "compact"})
        return data.num_rows

    return attempt


def expire_snapshots(table: Table, older_than: datetime, retain_last: int = 5, retries: int = 5) -> ExpireReport:
    """Expire snapshots older than ``older_than``, always keeping the newest ``retain_last`` (and
    every branch/tag head). The Kafka offsets live in table properties and are not affected. Still
    conflicting after ``retries`` attempts (a writer committing every second), it is deferred to the
    next run, as compaction is."""
    attempt = lake_catalog.expire_attempt(int(older_than.timestamp() * 1000), retain_last)
    before = len(table.snapshots())
    deferred = _unless_busy(table, attempt, "snapshot expiry", retries) is None
    table.refresh()
    return ExpireReport(
        table=".".join(table.name()[-2:]),
        snapshots_before=before,
        snapshots_after=len(table.snapshots()),
        deferred=deferred,
    )


def delete_older_than(table: Table, column: str, cutoff: datetime, retries: int = 20) -> RetentionReport:
    """Delete the rows whose ``column`` lies before ``cutoff`` (one commit; retried on a concurrent
    commit). The Kafka offsets live in table properties: ingestion never re-reads what was deleted."""
    row_filter = LessThan(column, cutoff.astimezone(UTC).isoformat())

    def attempt(t: Table) -> int:
        t.refresh()
        doomed = t.scan(row_filter=row_filter, selected_fields=(column,)).to_arrow().num_rows
        if doomed:
            t.delete(delete_filter=row_filter, snapshot_properties={MAINTENANCE_SUMMARY_KEY: "retention"})
        return doomed

    doomed = lake_catalog.commit_retrying(table, attempt, "retention delete", retries)
    return RetentionReport(table=".".join(table.name()[-2:]), cutoff=cutoff, rows_deleted=doomed)


def referenced_files(table: Table) -> set[str]:
    """Every file a snapshot still in the metadata needs: data files, manifests, manifest lists and
    the metadata files of the log (paths as written, ``file://`` URIs here)."""
    table.refresh()
    io = table.io
    paths: set[str] = {table.metadata_location}
    paths |= {entry.metadata_file for entry in table.metadata.metadata_log}
    for snapshot in table.snapshots():
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            if manifest.manifest_path in paths:  # snapshots share most manifests: read each once
                continue
            paths.add(manifest.manifest_path)
            paths |= {entry.data_file.file_path for entry in manifest.fetch_manifest_entry(io, discard_deleted=True)}
    return paths


def remove_orphan_files(table: Table, older_than: datetime) -> OrphanReport:
    """Delete files under the table's location that no snapshot references and that were last
    written before ``older_than`` (a writer's files are orphans until its commit: keep the grace
    period longer than any commit takes). Through the table's own pyarrow file system, so a local
    and an ``s3://`` warehouse alike; with another FileIO nothing is deleted."""
    from pyarrow.fs import FileSelector, FileType
    from pyiceberg.io.pyarrow import PyArrowFileIO

    name = ".".join(table.name()[-2:])
    if not isinstance(table.io, PyArrowFileIO):
        return OrphanReport(name, 0, 0)
    scheme, netloc, root = PyArrowFileIO.parse_location(table.location())
    fs = table.io.fs_by_scheme(scheme, netloc)
    keep = {PyArrowFileIO.parse_location(p)[2] for p in referenced_files(table)}
    deleted = size = 0
    for info in fs.get_file_info(FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type != FileType.File or info.path in keep or info.mtime is None or info.mtime >= older_than:
            continue
        if not info.path.endswith((".parquet", ".avro", ".json")):
            continue  # only the kinds of file Iceberg writes
        try:
            fs.delete_file(info.path)
        except OSError:
            # pyarrow's S3 file system then writes a "folder/" marker object, which some S3 servers (the
            # local one among them) refuse: the object itself is gone all the same
            if fs.get_file_info(info.path).type != FileType.NotFound:
                raise
        size += info.size or 0
        deleted += 1
    return OrphanReport(name, deleted, size)


def maintain(
    catalog: Catalog,
    identifiers: Iterable[str] = STREAMED_TABLES,
    *,
    expire_older_than: timedelta = timedelta(days=7),
    retain_last: int = 5,
    target_file_mb: float = 64.0,
    retention: timedelta | None = None,
    orphans_older_than: timedelta = timedelta(days=1),
    now: datetime | None = None,
) -> list[tuple[CompactionReport, ExpireReport, RetentionReport, OrphanReport]]:
    """For every table in ``identifiers`` (the raw ingest tables and the alerts by default): delete the rows past
    ``retention`` (None: keep every row), compact, expire snapshots, then delete the files no snapshot
    references any more that are older than ``orphans_older_than``."""
    now = now or datetime.now(UTC)
    out = []
    for identifier in identifiers:
        table = lake_catalog.ensure_table(catalog, identifier)
        column = RETENTION_COLUMNS.get(identifier)
        if retention is not None and column is not None:
            retained = delete_older_than(table, column, now - retention)
        else:
            retained = RetentionReport(table=identifier, cutoff=None, rows_deleted=0)
        lake_catalog.ensure_metadata_cleanup(table)
        compaction = compact(table, target_file_mb=target_file_mb)
        expired = expire_snapshots(table, now - expire_older_than, retain_last)
        out.append((compaction, expired, retained, remove_orphan_files(table, now - orphans_older_than)))
    return out
