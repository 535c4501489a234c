"""What one maintenance pass of a home does, for both callers: the maintenance assets
(dagster_project/maintenance/assets.py) and ``reasonlake maintain``. Plain Python (no Dagster types), so the
command line runs exactly what the assets run.

:func:`maintain_home` runs :func:`lake.maintenance.maintain` on some tables and, with ``leftovers``, deletes
what the streaming jobs left that nothing reads any more: the embedded broker's ingested records past its
retention, or the raw one if shorter (:func:`flink.sink.prune_ingested`), and the checkpoint folders of stopped
Flink runs (:func:`flink.checkpoints.prune_stopped`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from pyiceberg.catalog import Catalog

from flink.checkpoints import prune_stopped
from flink.sink import prune_ingested
from lake.maintenance import CompactionReport, ExpireReport, OrphanReport, RetentionReport, maintain
from lake.settings import Settings
from services.broker import PruneReport


@dataclass(frozen=True)
class MaintenanceOptions:
    expire_older_than_days: float = 7.0
    retain_last: int = 5
    target_file_mb: float = 64.0
    # raw rows (original texts, personal data included) older than this are deleted; None: the setting
    # REASONLAKE_RAW_RETENTION_DAYS, unset there too: every row is kept
    raw_retention_days: int | None = None


@dataclass(frozen=True)
class MaintenanceOutcome:
    tables: list[tuple[CompactionReport, ExpireReport, RetentionReport, OrphanReport]]
    retention_days: int | None
    broker: PruneReport | None = None  # None: leftovers not looked at
    checkpoint_folders: int | None = None

    def lines(self) -> list[str]:
        """One line per table, then the broker's and the checkpoints' (``reasonlake maintain`` prints them)."""
        out = []
        for compaction, expiry, retained, orphans in self.tables:
            kept = f"{retained.rows_deleted} row(s) older than {self.retention_days} days deleted; "
            deferred = f" ({compaction.partitions_deferred} busy, deferred)" if compaction.partitions_deferred else ""
            out.append(
                f"{compaction.table}: {kept if self.retention_days else ''}{compaction.partitions_compacted} "
                f"partition(s) compacted{deferred}, data files {compaction.files_before} -> {compaction.files_after}; "
                f"snapshots {expiry.snapshots_before} -> {expiry.snapshots_after}"
                f"{' (busy, expiry deferred)' if expiry.deferred else ''}; {orphans.files_deleted} unreferenced "
                f"file(s) deleted ({orphans.bytes_deleted / 1e6:.1f} MB)"
            )
        if self.broker is not None:
            pruned = self.broker
            out.append(
                f"broker: {pruned.skipped}"
                if pruned.skipped
                else f"broker: {pruned.batches_deleted} ingested record batch(es) older than {pruned.days} days "
                f"deleted ({pruned.bytes_deleted / 1e6:.1f} MB)"
            )
        if self.checkpoint_folders is not None:
            out.append(f"checkpoints: {self.checkpoint_folders} folder(s) of stopped Flink runs deleted")
        return out

    def metadata(self) -> dict[str, int]:
        """What changed, as the assets' materialization metadata."""
        metadata: dict[str, int] = {}
        if self.broker is not None:
            metadata.update(broker_batches_deleted=self.broker.batches_deleted)
            metadata.update(broker_bytes_deleted=self.broker.bytes_deleted)
        if self.checkpoint_folders is not None:
            metadata.update(checkpoint_folders_deleted=self.checkpoint_folders)
        for compaction, expiry, retained, orphans in self.tables:
            name = compaction.table.replace(".", "_")
            metadata.update(
                {
                    f"{name}_partitions_compacted": compaction.partitions_compacted,
                    f"{name}_partitions_deferred": compaction.partitions_deferred,
                    f"{name}_files_before": compaction.files_before,
                    f"{name}_files_after": compaction.files_after,
                    f"{name}_snapshots_before": expiry.snapshots_before,
                    f"{name}_snapshots_after": expiry.snapshots_after,
                    f"{name}_rows_deleted_by_retention": retained.rows_deleted,
                    f"{name}_orphan_files_deleted": orphans.files_deleted,
                    f"{name}_orphan_bytes_deleted": orphans.bytes_deleted,
                }
            )
        return metadata


def maintain_home(
    settings: Settings,
    catalog: Catalog,
    identifiers: Iterable[str],
    options: MaintenanceOptions = MaintenanceOptions(),
    *,
    leftovers: bool,
) -> MaintenanceOutcome:
    """Maintain ``identifiers`` under ``options`` and, with ``leftovers``, prune the broker's ingested records
    and the checkpoint folders of stopped runs (see the module's docstring)."""
    days = options.raw_retention_days or settings.raw_retention_days
    tables = maintain(
        catalog,
        identifiers,
        expire_older_than=timedelta(days=options.expire_older_than_days),
        retain_last=options.retain_last,
        target_file_mb=options.target_file_mb,
        retention=timedelta(days=days) if days else None,
    )
    if not leftovers:
        return MaintenanceOutcome(tables, days)
    pruned = prune_ingested(settings, catalog, days)  # the broker's copy of the texts, as old as allowed
    folders = prune_stopped(settings.checkpoints_uri)  # a killed ingest run's may hold its uncommitted batch
    return MaintenanceOutcome(tables, days, pruned, folders)
