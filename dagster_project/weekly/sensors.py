"""The weekly run starts by itself once a week has closed and its data is in: ``raw.feedback`` holds
messages created in the week and, later, messages created after it (an event-time watermark: the
stream has moved past the week). Reads the table's day partitions from its manifests only; each
week is requested once (its run key, and the sensor's cursor). Beside the Monday schedule, it also
runs the weeks of an archive replayed into Kafka, oldest first."""

from __future__ import annotations

import json

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.weekly.schedules import weekly_job
from lake import catalog as lake_catalog
from lake.weeks import closed_weeks, week_to_partition_key


@sensor(
    name="weekly_on_closed_week",
    job=weekly_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests the weekly run of every week raw.feedback has moved past (once per week).",
)
def weekly_on_closed_week(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    requested = set(json.loads(context.cursor)) if context.cursor else set()
    table = lake_catalog.ensure_table(reasonlake.catalog(), "raw.feedback")
    known = set(weekly_partitions.get_partition_keys(dynamic_partitions_store=None))
    runs, outside = [], []
    for week in closed_weeks(lake_catalog.partition_days(table, "created_at")):
        if week in requested:
            continue
        key = week_to_partition_key(week)
        requested.add(week)  # asked for once (a week outside the partitions is said once)
        if key not in known:
            outside.append(week)
            continue
        runs.append(RunRequest(partition_key=key, run_key=f"weekly-{week}", tags={"reasonlake/trigger": "closed-week"}))
    if outside:
        context.log.warning(f"weeks outside the weekly partitions, not run: {', '.join(outside)}")
    return SensorResult(run_requests=runs, cursor=json.dumps(sorted(requested)))
