"""The maintenance domain: retention, compaction and snapshot expiry of the tables streaming jobs write.

Two assets, each beside what it maintains in the lineage: ``["raw", "feedback_maintenance"]``
(downstream of ``["raw", "feedback"]`` and ``["raw", "feedback_rejected"]``, which the ingest job
appends to every few seconds) and ``["alerts", "alerts_maintenance"]`` (downstream of ``["alerts",
"alerts"]``, the alert job's). Materializing one runs :func:`lake.maintenance.maintain` on its tables and
records what changed as metadata (files, snapshots, rows and bytes). They are assets, not ops, so each
run shows in the lineage; the daily schedule keeps file counts and metadata size bounded.
"""

from datetime import timedelta

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset

from dagster_project.resources import ReasonlakeResource
from flink.checkpoints import prune_stopped
from flink.sink import prune_ingested
from lake.maintenance import RAW_TABLES, maintain
from lake.schemas import ALERTS

GROUP = "maintenance"
RAW_FEEDBACK_MAINTENANCE = AssetKey(["raw", "feedback_maintenance"])
ALERTS_MAINTENANCE = AssetKey(["alerts", "alerts_maintenance"])


class MaintenanceConfig(Config):
    expire_older_than_days: float = 7.0
    retain_last: int = 5
    target_file_mb: float = 64.0
    # raw rows (original texts, personal data included) older than this are deleted; None: the
    # setting REASONLAKE_RAW_RETENTION_DAYS, unset there too: every row is kept
    raw_retention_days: int | None = None


def _maintain(
    context: AssetExecutionContext,
    config: MaintenanceConfig,
    reasonlake: ReasonlakeResource,
    identifiers: tuple[str, ...],
    *,
    leftovers: bool = False,
) -> MaterializeResult:
    """:func:`lake.maintenance.maintain` on ``identifiers`` and, with ``leftovers``, what the streaming jobs
    left that nothing reads any more: the embedded broker's ingested records past its retention, or the raw
    one if shorter (:func:`flink.sink.prune_ingested`), and the checkpoint folders of stopped Flink runs
    (:func:`flink.checkpoints.prune_stopped`); per table, what changed as metadata."""
    settings = reasonlake.settings()
    days = config.raw_retention_days or settings.raw_retention_days
    catalog = reasonlake.catalog()
    reports = maintain(
        catalog,
        identifiers,
        expire_older_than=timedelta(days=config.expire_older_than_days),
        retain_last=config.retain_last,
        target_file_mb=config.target_file_mb,
        retention=timedelta(days=days) if days else None,
    )
    metadata: dict[str, int] = {}
    if leftovers:  # the broker's copy of the original texts, a killed run's uncommitted batch
        pruned = prune_ingested(settings, catalog, days)
        folders = prune_stopped(settings.checkpoints_uri)
        metadata.update(
            broker_batches_deleted=pruned.batches_deleted,
            broker_bytes_deleted=pruned.bytes_deleted,
            checkpoint_folders_deleted=folders,
        )
        context.log.info(f"broker: {pruned}; checkpoint folders of stopped runs deleted: {folders}")
    for compaction, expiry, retained, orphans in reports:
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
        context.log.info(f"{compaction} {expiry} {retained} {orphans}")
    return MaterializeResult(metadata=metadata)


@asset(
    key=RAW_FEEDBACK_MAINTENANCE,
    deps=[AssetKey(["raw", "feedback"]), AssetKey(["raw", "feedback_rejected"])],
    group_name=GROUP,
    kinds={"iceberg"},
    description="Deletes raw rows past their retention (raw_retention_days) and the embedded broker's ingested "
    "records past its own (REASONLAKE_BROKER_RETENTION_DAYS, or the raw one if shorter) and the checkpoint "
    "folders stopped Flink runs left (idle for a day), compacts small data "
    "files (per day partition), expires old snapshots of the raw ingest tables and deletes the files no snapshot "
    "needs (older than a day); the Kafka offsets kept in the table properties are never touched.",
)
def raw_feedback_maintenance(
    context: AssetExecutionContext, config: MaintenanceConfig, reasonlake: ReasonlakeResource
) -> MaterializeResult:
    return _maintain(context, config, reasonlake, RAW_TABLES, leftovers=True)


@asset(
    key=ALERTS_MAINTENANCE,
    deps=[AssetKey(["alerts", "alerts"])],
    group_name=GROUP,
    kinds={"iceberg"},
    description="Compacts the small data files the alert job appends (per day partition), expires old snapshots "
    "of alerts.alerts and deletes the files no snapshot needs (older than a day). Alerts carry redacted text "
    "only: no retention applies.",
)
def alerts_maintenance(
    context: AssetExecutionContext, config: MaintenanceConfig, reasonlake: ReasonlakeResource
) -> MaterializeResult:
    return _maintain(context, config, reasonlake, (ALERTS.identifier,))
