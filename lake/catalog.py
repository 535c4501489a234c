"""Catalog helpers: load the configured catalog, create tables idempotently, append atomically
with Kafka offsets, read back.

Kafka offsets live in the table itself: each commit that appends records sets, in the same
atomic metadata commit, a table property per (topic, partition) holding the highest offset now
in the table, and repeats the map in the snapshot summary for audits. A job that restarts reads
them back (:func:`committed_offsets`) and resumes after them, so an Iceberg commit and the
offsets it covers can never disagree.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pyarrow as pa
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, EqualTo
from pyiceberg.table import Table
from pyiceberg.table.update import AssertRefSnapshotId
from sqlalchemy.exc import OperationalError

from lake.errors import CatalogBusyError, CommitConflictError, TableContractError, UnknownTableError
from lake.schemas import TABLES, TableSpec
from lake.settings import BUSY_TIMEOUT_PROPERTY, CATALOG_NAME, Settings

log = logging.getLogger(__name__)
R = TypeVar("R")
DEFAULT_BUSY_TIMEOUT_S = 60.0

OFFSET_PROPERTY_PREFIX = "reasonlake.kafka-offset."
OFFSETS_SUMMARY_KEY = "reasonlake.kafka-offsets"

TopicPartition = tuple[str, int]


def load(settings: Settings) -> Catalog:
    """The catalog of these settings (SQLite + local warehouse unless configured otherwise)."""
    if not settings.catalog_uri:
        settings.home.mkdir(parents=True, exist_ok=True)
        (settings.home / "warehouse").mkdir(exist_ok=True)
    for attempt in range(3):
        try:
            return load_catalog(CATALOG_NAME, **settings.catalog_properties())
        except Exception as exc:  # two first loads of a fresh SQL catalog race on CREATE TABLE
            if attempt == 2 or "already exists" not in str(exc):
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def spec_of(identifier: str) -> TableSpec:
    try:
        return TABLES[identifier]
    except KeyError:
        raise UnknownTableError(f"{identifier!r} is not in the table contract (lake/schemas.py)") from None


# Every table deletes its oldest metadata files on commit, keeping the newest few (an ingest commits
# every few seconds: without this each commit leaves one more metadata JSON for ever), and merges its
# manifests once it has 100 (pyiceberg appends one per commit, and every scan and commit reads them all).
TABLE_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "100",
}
# pyiceberg copies a table's whole metadata, every snapshot in it, several times per commit: each
# snapshot kept costs every later commit 0.7–1.7 ms (bench/commits.py). A commit that leaves more than
# HISTORY_MAX snapshots expires the oldest, down to HISTORY_KEPT, so a table committed to every few
# seconds for weeks commits as fast as on its first day; maintenance expires by age as well.
HISTORY_MAX = 100
HISTORY_KEPT = 50


def ensure_metadata_cleanup(table: Table) -> Table:
    """Set :data:`TABLE_PROPERTIES` on a table created before they existed (idempotent)."""

    def attempt(t: Table) -> Table:
        t.refresh()
        if any(t.properties.get(k) != v for k, v in TABLE_PROPERTIES.items()):
            with t.transaction() as tx:
                tx.set_properties(TABLE_PROPERTIES)
        return t

    return commit_retrying(table, attempt, "setting the metadata properties")


def ensure_table(catalog: Catalog, identifier: str) -> Table:
    """Load the table, creating its namespace and itself from the contract when missing.

    Idempotent and safe under concurrent callers. Raises :class:`TableContractError` when an
    existing table lacks a column of the contract.
    """
    spec = spec_of(identifier)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        try:
            catalog.create_namespace(spec.namespace)
        except NamespaceAlreadyExistsError:
            pass
        except Exception:  # a concurrent creator won the race (SQLite reports an IntegrityError)
            if not catalog.namespace_exists(spec.namespace):
                raise
        try:
            table = catalog.create_table(
                identifier,
                schema=spec.schema,
                partition_spec=spec.partition_spec,
                properties={"comment": spec.doc, **TABLE_PROPERTIES},
            )
        except TableAlreadyExistsError:
            table = catalog.load_table(identifier)
        except Exception:
            if not catalog.table_exists(identifier):
                raise
            table = catalog.load_table(identifier)
    return _evolved(table, spec)


def _evolved(table: Table, spec: TableSpec) -> Table:
    """``table`` brought up to the contract where that is safe: optional columns the contract added are added,
    columns it made optional become optional. A missing required column is an error
    (:class:`TableContractError`): rows already written cannot have it."""
    have = {f.name: f for f in table.schema().fields}
    missing = [f for f in spec.schema.fields if f.name not in have]
    required = sorted(f.name for f in missing if f.required)
    if required:
        raise TableContractError(f"{spec.identifier} lacks contract columns {required}")
    relaxed = [f.name for f in spec.schema.fields if f.name in have and have[f.name].required and not f.required]
    if not missing and not relaxed:
        return table
    with table.update_schema() as update:
        for f in missing:
            update.add_column(f.name, f.field_type, doc=f.doc)
        for name in relaxed:
            update.make_column_optional(name)
    return table.refresh()


def ensure_all(catalog: Catalog) -> dict[str, Table]:
    return {identifier: ensure_table(catalog, identifier) for identifier in TABLES}


def to_arrow(identifier: str, rows: Iterable[Mapping]) -> pa.Table:
    """Rows (dicts keyed by column name) as an Arrow table of the contract's schema."""
    schema = spec_of(identifier).arrow_schema
    return pa.Table.from_pylist([dict(r) for r in rows], schema=schema)


def _offset_key(tp: TopicPartition) -> str:
    return f"{OFFSET_PROPERTY_PREFIX}{tp[0]}#{tp[1]}"


def committed_offsets(table: Table) -> dict[TopicPartition, int]:
    """Highest Kafka offset per (topic, partition) whose record is committed in ``table``."""
    out: dict[TopicPartition, int] = {}
    for key, value in table.properties.items():
        if key.startswith(OFFSET_PROPERTY_PREFIX):
            topic, _, partition = key[len(OFFSET_PROPERTY_PREFIX) :].rpartition("#")
            out[(topic, int(partition))] = int(value)
    return out


def _catalog_locked(exc: OperationalError) -> bool:
    return any(word in str(exc.orig).lower() for word in ("database is locked", "database is busy"))


def commit_retrying(table: Table, attempt: Callable[[Table], R], what: str = "commit", retries: int = 20) -> R:
    """``attempt(table)`` (which reads the table afresh and commits) until it goes through.

    * A concurrent commit (``CommitFailedException``, or pyiceberg's ``ValidationException`` when its
      own retry of an overwrite finds files another writer added under the overwrite's filter):
      retried with backoff, ``retries`` times, then :class:`CommitConflictError`.
    * A SQL catalog another writer holds locked (SQLite's "database is locked", after SQLite's own
      5 s wait): retried for the catalog's busy timeout (``REASONLAKE_CATALOG_BUSY_TIMEOUT_S``),
      then :class:`CatalogBusyError`. The catalog's pointer never moved, so nothing was committed
      (the metadata file the failed attempt wrote is an orphan that ``maintain`` deletes).
    """
    conflicts, busy_since = 0, None
    while True:
        try:
            return attempt(table)
        except (CommitFailedException, ValidationException):
            conflicts += 1
            if conflicts >= retries:
                raise CommitConflictError(
                    f"{table.name()}: {what} still conflicting after {retries} attempts"
                ) from None
            time.sleep(min(0.05 * 2**conflicts, 1.0))
        except OperationalError as exc:
            if not _catalog_locked(exc):
                raise
            now = time.monotonic()
            busy_since = now if busy_since is None else busy_since
            timeout = float(table.catalog.properties.get(BUSY_TIMEOUT_PROPERTY, DEFAULT_BUSY_TIMEOUT_S))
            if now - busy_since >= timeout:
                raise CatalogBusyError(
                    f"{'.'.join(table.name()[-2:])}: {what} not committed: another writer held the catalog "
                    f"locked for {now - busy_since + 5:.0f} s"
                ) from None
            log.warning("%s: the catalog is locked by another writer; retrying", ".".join(table.name()[-2:]))
            time.sleep(0.5)


def append(
    table: Table, data: pa.Table, *, offsets: Mapping[TopicPartition, int] | None = None, retries: int = 20
) -> Table:
    """Append ``data`` and advance the Kafka offsets in one atomic commit, retried on conflict.

    Offsets only ever move forward: a stale writer cannot move a partition's offset back. The
    offsets are compared with freshly loaded metadata, and the commit requires the table's main
    snapshot to be the one they were read from (a concurrent append makes it fail and retry).
    Concurrent writers of different partitions never touch each other's properties.
    """
    offsets = dict(offsets or {})

    def attempt(t: Table) -> Table:
        t.refresh()  # a writer holding an old Table object must not compare with stale offsets
        current = committed_offsets(t)
        advanced = {tp: o for tp, o in offsets.items() if o > current.get(tp, -1)}
        if data.num_rows == 0 and not advanced:
            return t
        snapshot = t.current_snapshot()
        with t.transaction() as tx:
            # pyiceberg has no public way to add a requirement: catalogs check it before applying
            requirement = AssertRefSnapshotId(ref="main", snapshot_id=snapshot.snapshot_id if snapshot else None)  # type: ignore[call-arg]
            tx._apply((), (requirement,))
            if data.num_rows:  # the offsets it covers ({} for a writer without any) mark it as an append's
                summary = {OFFSETS_SUMMARY_KEY: json.dumps({f"{k[0]}#{k[1]}": v for k, v in offsets.items()})}
                tx.append(data, snapshot_properties=summary)
            if advanced:
                tx.set_properties({_offset_key(tp): str(o) for tp, o in advanced.items()})
        return t

    return bound_history(commit_retrying(table, attempt, "append", retries))


def expire_attempt(older_than_ms: int | None, retain_last: int) -> Callable[[Table], int]:
    """An ``attempt`` for :func:`commit_retrying`: expire the snapshots older than ``older_than_ms``
    (None: whatever their age) but the newest ``retain_last`` and the current one; returns how many.
    Only metadata changes: the table properties (the Kafka offsets) and the data stay, and the files
    no snapshot needs any more are left to ``lake.maintenance.remove_orphan_files``."""
    if retain_last < 1:
        raise ValueError("retain_last must be at least 1")

    def attempt(t: Table) -> int:
        t.refresh()
        snapshots = sorted(t.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number or 0))
        keep = {s.snapshot_id for s in snapshots[-retain_last:]}
        current = t.current_snapshot()
        if current is not None:
            keep.add(current.snapshot_id)
        expire = [
            s.snapshot_id
            for s in snapshots
            if (older_than_ms is None or s.timestamp_ms < older_than_ms) and s.snapshot_id not in keep
        ]
        if expire:
            t.maintenance.expire_snapshots().by_ids(expire).commit()
        return len(expire)

    return attempt


def bound_history(table: Table) -> Table:
    """Past :data:`HISTORY_MAX` snapshots, expire the oldest down to :data:`HISTORY_KEPT`. Best effort:
    a trim that other writers keep beating (or a catalog they hold locked) is left to the next commit,
    for the commit it follows has gone through."""
    if len(table.metadata.snapshots) <= HISTORY_MAX:
        return table
    try:
        expired = commit_retrying(table, expire_attempt(None, HISTORY_KEPT), "history trim", retries=3)
        log.info("%s: %d oldest snapshot(s) expired", ".".join(table.name()[-2:]), expired)
    except (CommitConflictError, CatalogBusyError) as exc:
        log.info("history trim left to the next commit: %s", exc)
    except Exception as exc:  # a full disk, a broken store: the next commit meets it, not this one's caller
        log.warning("history trim left to the next commit: %s: %s", type(exc).__name__, exc)
    return table


@dataclass(frozen=True)
class Commit:
    """One commit of :func:`append` (a snapshot carrying the Kafka offsets it covered, if any)."""

    snapshot_id: int
    sequence_number: int
    committed_at: datetime
    rows_added: int
    total_rows: int
    offsets: dict[str, int]  # "topic#partition" -> highest offset in the table after this commit


def appends(table: Table, after_sequence_number: int = 0) -> list[Commit]:
    """The table's snapshots written by :func:`append` (the ingest job's commits, the alert writer's; not
    maintenance), newer than ``after_sequence_number``, oldest first. Snapshots expired by maintenance
    are gone from the list (report them before they expire)."""
    out = []
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is None or snapshot.sequence_number is None or snapshot.sequence_number <= after_sequence_number:
            continue
        offsets = summary.additional_properties.get(OFFSETS_SUMMARY_KEY)
        if offsets is None:
            continue
        out.append(
            Commit(
                snapshot_id=snapshot.snapshot_id,
                sequence_number=snapshot.sequence_number,
                committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC),
                rows_added=int(summary.additional_properties.get("added-records", 0)),
                total_rows=int(summary.additional_properties.get("total-records", 0)),
                offsets=json.loads(offsets),
            )
        )
    return sorted(out, key=lambda c: c.sequence_number)


def partition_days(table: Table, column: str) -> set[date]:
    """The days of ``column`` (a ``day`` partition field of the table) that hold rows, from the
    manifests alone (no data file is read)."""
    return set(partition_day_counts(table, column))


def partition_day_counts(table: Table, column: str) -> dict[date, int]:
    """Rows per day of ``column`` (a ``day`` partition field of the table), from the manifests alone. A
    compaction keeps the counts; new rows raise them."""
    table.refresh()
    if table.current_snapshot() is None:
        return {}
    field = next((f for f in table.spec().fields if table.schema().find_column_name(f.source_id) == column), None)
    if field is None:
        raise TableContractError(f"{table.name()} is not partitioned by {column}")
    out: dict[date, int] = {}
    partitions = table.inspect.partitions()
    for partition, count in zip(
        partitions.column("partition").to_pylist(), partitions.column("record_count").to_pylist()
    ):
        value = partition.get(field.name)
        if value is not None:
            day = value if isinstance(value, date) else date(1970, 1, 1) + timedelta(days=int(value))
            out[day] = out.get(day, 0) + int(count)
    return out


def replace_week(table: Table, data: pa.Table, week: str, retries: int = 20) -> Table:
    """Replace the rows of one ISO week (re-materializing a week is idempotent). Always an overwrite, even
    of a week without rows yet: pyiceberg may retry a conflicting append on the newer table by itself, and
    two first writes of one week would both land; an overwrite's retry finds the other's files instead
    (``commit_retrying`` then starts again). Its warning that the delete matched nothing is expected."""

    def attempt(t: Table) -> Table:
        t.refresh()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            t.overwrite(data, overwrite_filter=EqualTo("week", week))
        return t

    return commit_retrying(table, attempt, f"replacing week {week}", retries)


def read(
    catalog: Catalog,
    identifier: str,
    row_filter: BooleanExpression | str = AlwaysTrue(),
    selected_fields: tuple[str, ...] = ("*",),
) -> pa.Table:
    """Scan a contract table into Arrow (an empty table of the contract schema if it is missing)."""
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return spec_of(identifier).arrow_schema.empty_table()
    return table.scan(row_filter=row_filter, selected_fields=selected_fields).to_arrow()
