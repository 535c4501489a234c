"""What the streaming PyFlink jobs commit, reported to Dagster: the jobs do not run in Dagster, so their
Iceberg appends (:func:`lake.catalog.appends`) become runless materializations of the tables' assets,
one per table and report, covering every commit since the last one (how many, rows added, total rows,
Kafka offsets, the newest snapshot id and sequence number). The sensors of the ingestion domain
(``raw/feedback``, ``raw/feedback_rejected``) and of the alerting domain (``alerts/alerts``) report them.

One per report, not one per commit: the ingest job commits each table every 20 s under a steady load,
the alert job every 2 s while it alerts, and a materialization takes 8.5 kB of the Dagster instance's
database, so one per ingest commit would add 74 MB a day (bench/events.py), for as long as the system
runs. The sensors report every 5 minutes (:data:`REPORT_INTERVAL_S`): 4.9 MB a day for the raw tables.

A table keeps 50–100 snapshots (:func:`lake.catalog.bound_history`): the ingest job's last 17–33 minutes under
a steady load, but the alert writer's, committing every 2 s while alerts flow, only its last 2–3 minutes. A
report that finds commits since the last one already trimmed says so (``history_trimmed``, "at least"): its
``commits`` and ``rows_added`` count those still in the history, its total rows stay exact.

The instance is the cursor: :func:`unreported_commits` reports the commits after the sequence number
of the table's latest materialization there, so a sensor (under the daemon) and a CLI run of the job
(after it, :func:`report_commits`) can both report without doubling a commit. An ingest batch without
rejections advances ``raw.feedback_rejected``'s offsets without a snapshot: reported as a
materialization adding no row (the table is current up to those offsets).
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from pyiceberg.catalog import Catalog

from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog

# how often the sensors report (the raw tables' freshness checks warn after an hour without a commit)
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


def unreported_commits(
    instance: DagsterInstance, catalog: Catalog, identifiers: Sequence[str]
) -> list[AssetMaterialization]:
    """Per table of ``identifiers`` (asset key = its identifier's parts), one materialization covering its
    commits not yet reported to ``instance``."""
    events: list[AssetMaterialization] = []
    for identifier in identifiers:
        key = AssetKey(identifier.split("."))
        sequence, reported_offsets = _reported(instance, key)
        table = lake_catalog.ensure_table(catalog, identifier)
        offsets = {f"{t}#{p}": o for (t, p), o in lake_catalog.committed_offsets(table).items()}
        commits = lake_catalog.appends(table, sequence)
        if commits:
            newest, rows = commits[-1], sum(c.rows_added for c in commits)
            # snapshots since the last report expired before it (by the history trim, lake.catalog.bound_history,
            # or, rarely, maintenance's expiry): the count is then a lower bound
            kept = {s.sequence_number for s in table.snapshots()}
            trimmed = any(n not in kept for n in range(sequence + 1, newest.sequence_number))
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description=f"{'at least ' if trimmed else ''}{len(commits)} commit(s), {rows} row(s) added"
                    + (
                        " (snapshots since the last report were expired before it: some commits may be missing from this count)"
                        if trimmed
                        else ""
                    ),
                    metadata={
                        "commits": len(commits),
                        "rows_added": rows,
                        "history_trimmed": trimmed,
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


def report_commits(instance: DagsterInstance, catalog: Catalog, identifiers: Sequence[str]) -> int:
    """Report the unreported commits of ``identifiers`` to ``instance`` now (a CLI run of a job, after it);
    how many."""
    events = unreported_commits(instance, catalog, identifiers)
    for event in events:
        instance.report_runless_asset_event(event)
    return commits_in(events)


def commits_in(events: list[AssetMaterialization]) -> int:
    """The commits ``events`` (of :func:`unreported_commits`) cover."""
    values = [e.metadata["commits"].value for e in events]
    return sum(v for v in values if isinstance(v, int))


def commits_sensor(name: str, identifiers: Sequence[str], writer: str, description: str) -> SensorDefinition:
    """A sensor reporting the commits of ``identifiers`` every :data:`REPORT_INTERVAL_S`, running by default
    (``writer`` names who commits, for its log)."""

    @sensor(
        name=name,
        minimum_interval_seconds=REPORT_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description=description,
    )
    def report(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
        events = unreported_commits(context.instance, reasonlake.catalog(), identifiers)
        if events:
            context.log.info(f"reporting {commits_in(events)} {writer} commit(s)")
        return SensorResult(asset_events=events)

    return report
