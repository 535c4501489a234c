"""What the PyFlink ingest job commits, reported to Dagster: the job does not run in Dagster, so its
Iceberg commits become runless materializations of ``raw/feedback`` and ``raw/feedback_rejected``,
one per table and report, covering every commit since the last one (how many, rows added, total rows,
Kafka offsets, the newest snapshot id and sequence number). Freshness checks and the weekly trigger
(``dagster_project.weekly.sensors``) build on it.

One per report, not one per commit: the ingest job commits each table every 20 s under a steady load,
and a materialization takes 8.5 kB of the Dagster instance's database, so one per commit would
add 74 MB a day (bench/events.py), for as long as the system runs. The sensor reports every 5 minutes
(:data:`REPORT_INTERVAL_S`): 4.9 MB a day.

The instance is the cursor: :func:`unreported_commits` reports the commits after the sequence number
of the table's latest materialization there, so the sensor (under the daemon) and ``reasonlake
ingest`` (after each run, :func:`report_commits`) can both report without doubling a commit. A batch
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

# how often the sensor reports (the freshness checks warn after an hour without a commit)
REPORT_INTERVAL_S = 300


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
    """Per raw table, one materialization covering its ingest commits not yet reported to ``instance``."""
    events: list[AssetMaterialization] = []
    for identifier in RAW_TABLES:
        key = AssetKey(identifier.split("."))
        sequence, reported_offsets = _reported(instance, key)
        table = lake_catalog.ensure_table(catalog, identifier)
        offsets = {f"{t}#{p}": o for (t, p), o in lake_catalog.committed_offsets(table).items()}
        commits = lake_catalog.ingest_commits(table, sequence)
        if commits:
            newest, rows = commits[-1], sum(c.rows_added for c in commits)
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description=f"{len(commits)} ingest commit(s), {rows} row(s) added",
                    metadata={
                        "commits": len(commits),
                        "rows_added": rows,
                        "snapshot_id": str(newest.snapshot_id),
                        "sequence_number": newest.sequence_number,
                        "dagster/row_count": newest.total_rows,
                        "kafka_offsets": MetadataValue.json(offsets),  # the table's, after the newest commit
                        "first_committed_at": MetadataValue.timestamp(commits[0].committed_at),
                        "committed_at": MetadataValue.timestamp(newest.committed_at),
                    },
                )
            )
        elif offsets and offsets != reported_offsets:
            # offsets moved without a snapshot (batches with nothing for this table)
            snapshot = table.current_snapshot()
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description="offsets advanced; no row for this table",
                    metadata={
                        "commits": 0,
                        "rows_added": 0,
                        "snapshot_id": str(snapshot.snapshot_id) if snapshot else "none",
                        "sequence_number": sequence,
                        "kafka_offsets": MetadataValue.json(offsets),
                    },
                )
            )
    return events


def report_commits(instance: DagsterInstance, catalog: Catalog) -> int:
    """Report the unreported commits to ``instance`` now (``reasonlake ingest`` after its run); how many."""
    events = unreported_commits(instance, catalog)
    for event in events:
        instance.report_runless_asset_event(event)
    return commits_in(events)


def commits_in(events: list[AssetMaterialization]) -> int:
    """The ingest commits ``events`` (of :func:`unreported_commits`) cover."""
    values = [e.metadata["commits"].value for e in events]
    return sum(v for v in values if isinstance(v, int))


@sensor(
    name="raw_feedback_commits",
    minimum_interval_seconds=REPORT_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports the ingest job's Iceberg commits since the last report as one materialization of "
    "raw/feedback and one of raw/feedback_rejected (commits, rows, offsets, the newest snapshot id).",
)
def raw_feedback_commits(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    events = unreported_commits(context.instance, reasonlake.catalog())
    if events:
        context.log.info(f"reporting {commits_in(events)} ingest commit(s)")
    return SensorResult(asset_events=events)
