"""What the PyFlink ingest job commits, reported to Dagster: the job does not run in Dagster, so each
of its Iceberg commits becomes a runless materialization of ``raw/feedback`` or
``raw/feedback_rejected`` (rows added, total rows, Kafka offsets, snapshot id and sequence number).
Freshness checks and the weekly trigger (``dagster_project.weekly.sensors``) build on it.

The instance is the cursor: :func:`unreported_commits` reports the commits after the sequence number
of the table's latest materialization there, so the sensor (under the daemon) and ``reasonlake
ingest`` (after each run, :func:`report_commits`) can both report without doubling an event. A batch
without rejections advances ``raw.feedback_rejected``'s offsets without a snapshot: reported as a
materialization adding no row (the table is current up to those offsets).
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from pyiceberg.catalog import Catalog

from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.maintenance import RAW_TABLES

# the most commits reported per table and call (the rest follow on the next ones)
MAX_EVENTS = 200


def _reported(instance: DagsterInstance, key: AssetKey) -> tuple[int, dict]:
    """Sequence number and offsets of the latest reported commit of ``key`` (0 and {} if none)."""
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return 0, {}
    metadata = materialization.metadata
    sequence = metadata.get("sequence_number")
    offsets = metadata.get("kafka_offsets")
    return (int(sequence.value) if sequence else 0), (dict(offsets.value) if offsets else {})  # type: ignore[arg-type]


def unreported_commits(instance: DagsterInstance, catalog: Catalog) -> list[AssetMaterialization]:
    """A materialization per ingest commit of the raw tables not yet reported to ``instance``."""
    events: list[AssetMaterialization] = []
    for identifier in RAW_TABLES:
        key = AssetKey(identifier.split("."))
        sequence, reported_offsets = _reported(instance, key)
        table = lake_catalog.ensure_table(catalog, identifier)
        offsets = {f"{t}#{p}": o for (t, p), o in lake_catalog.committed_offsets(table).items()}
        commits = lake_catalog.ingest_commits(table, sequence)[:MAX_EVENTS]
        for i, commit in enumerate(commits):
            last = i == len(commits) - 1
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description=f"ingest commit of {commit.rows_added} row(s)",
                    metadata={
                        "snapshot_id": str(commit.snapshot_id),
                        "sequence_number": commit.sequence_number,
                        "rows_added": commit.rows_added,
                        "dagster/row_count": commit.total_rows,
                        # the table's offsets after the newest commit, the batch's own before it
                        "kafka_offsets": MetadataValue.json(offsets if last else commit.offsets),
                        "committed_at": MetadataValue.timestamp(commit.committed_at),
                    },
                )
            )
        if not commits and offsets and offsets != reported_offsets:
            # offsets moved without a snapshot (a batch with nothing for this table)
            snapshot = table.current_snapshot()
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description="offsets advanced; no row for this table",
                    metadata={
                        "snapshot_id": str(snapshot.snapshot_id) if snapshot else "none",
                        "sequence_number": sequence,
                        "rows_added": 0,
                        "kafka_offsets": MetadataValue.json(offsets),
                    },
                )
            )
    return events


def report_commits(instance: DagsterInstance, catalog: Catalog) -> int:
    """Report the unreported commits to ``instance`` now (``reasonlake ingest`` after its run)."""
    events = unreported_commits(instance, catalog)
    for event in events:
        instance.report_runless_asset_event(event)
    return len(events)


@sensor(
    name="raw_feedback_commits",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports every Iceberg commit of the ingest job as a materialization of raw/feedback and "
    "raw/feedback_rejected (rows, offsets, snapshot id).",
)
def raw_feedback_commits(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    events = unreported_commits(context.instance, reasonlake.catalog())
    if events:
        context.log.info(f"reporting {len(events)} ingest commit(s)")
    return SensorResult(asset_events=events)
