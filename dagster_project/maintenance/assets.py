"""The maintenance domain: retention, compaction and snapshot expiry of the tables streaming jobs write.

Two assets, each beside what it maintains in the lineage: ``["raw", "feedback_maintenance"]``
(downstream of ``["raw", "feedback"]`` and ``["raw", "feedback_rejected"]``, which the ingest job
appends to every few seconds) and ``["alerts", "alerts_maintenance"]`` (downstream of ``["alerts",
"alerts"]``, the alert job's). Materializing one runs :func:`lake.maintenance.maintain` on its tables and
records what changed as metadata (files, snapshots, rows and bytes). They are assets, not ops, so each
run shows in the lineage; the daily schedule keeps file counts and metadata size bounded.
"""

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset

from dagster_project.maintenance.resources import MaintenanceOptions, maintain_home
from dagster_project.resources import ReasonlakeResource
from lake.maintenance import RAW_TABLES
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
    """:func:`dagster_project.maintenance.resources.maintain_home` (what ``reasonlake maintain`` runs too) on
    ``identifiers``; per table, what changed as metadata."""
    options = MaintenanceOptions(**config.model_dump())
    outcome = maintain_home(reasonlake.settings(), reasonlake.catalog(), identifiers, options, leftovers=leftovers)
    for line in outcome.lines():
        context.log.info(line)
    return MaterializeResult(metadata=outcome.metadata())


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
