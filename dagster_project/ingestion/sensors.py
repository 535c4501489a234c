"""What the PyFlink ingest job commits, reported to Dagster: the job does not run in Dagster, so this
sensor turns each of its Iceberg commits into a runless materialization of ``raw/feedback`` or
``raw/feedback_rejected`` (rows added, total rows, Kafka offsets, snapshot id). Freshness checks and
the weekly trigger (``dagster_project.weekly.sensors``) build on it.

Its cursor holds, per table, the sequence number of the last commit reported and the offsets then.
A batch without rejections advances ``raw.feedback_rejected``'s offsets without a snapshot: reported
as a materialization adding no row (the table is current up to those offsets).
"""

from __future__ import annotations

import json

from dagster import (
    AssetKey,
    AssetMaterialization,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.maintenance import RAW_TABLES

# the most commits reported per table and tick (the rest follow on the next ticks)
MAX_EVENTS = 200


@sensor(
    name="raw_feedback_commits",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports every Iceberg commit of the ingest job as a materialization of raw/feedback and "
    "raw/feedback_rejected (rows, offsets, snapshot id).",
)
def raw_feedback_commits(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    catalog = reasonlake.catalog()
    events: list[AssetMaterialization] = []
    for identifier in RAW_TABLES:
        key = AssetKey(identifier.split("."))
        seen = cursor.get(identifier, {"seq": 0, "offsets": {}})
        table = lake_catalog.ensure_table(catalog, identifier)
        offsets = {f"{t}#{p}": o for (t, p), o in lake_catalog.committed_offsets(table).items()}
        commits = lake_catalog.ingest_commits(table, seen["seq"])[:MAX_EVENTS]
        for commit in commits:
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description=f"ingest commit of {commit.rows_added} row(s)",
                    metadata={
                        "snapshot_id": str(commit.snapshot_id),
                        "rows_added": commit.rows_added,
                        "dagster/row_count": commit.total_rows,
                        "kafka_offsets": MetadataValue.json(commit.offsets),
                        "committed_at": MetadataValue.timestamp(commit.committed_at),
                    },
                )
            )
        if commits:
            seen = {"seq": commits[-1].sequence_number, "offsets": offsets}
        elif offsets != seen["offsets"]:
            # offsets moved without a snapshot (a batch with nothing for this table)
            snapshot = table.current_snapshot()
            events.append(
                AssetMaterialization(
                    asset_key=key,
                    description="offsets advanced; no row for this table",
                    metadata={
                        "snapshot_id": str(snapshot.snapshot_id) if snapshot else "none",
                        "rows_added": 0,
                        "kafka_offsets": MetadataValue.json(offsets),
                    },
                )
            )
            seen = {"seq": seen["seq"], "offsets": offsets}
        cursor[identifier] = seen
    if events:
        context.log.info(f"reporting {len(events)} ingest commit(s)")
    return SensorResult(asset_events=events, cursor=json.dumps(cursor, sort_keys=True))
