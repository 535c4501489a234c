"""The weekly run starts by itself once a week has closed and its data is in: ``raw.feedback`` holds
messages created in the week and, later, messages created after it (an event-time watermark: the
stream has moved past the week). Reads the table's day partitions from its manifests only; each
week is requested once (its run key, and the sensor's cursor). Beside the Monday schedule, it also
runs the weeks of an archive replayed into Kafka, oldest first."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    WeeklyPartitionsDefinition,
    sensor,
)

from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.weeks import closed_weeks, partition_key_to_week, week_to_partition_key

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def build(weeks: WeeklyPartitionsDefinition, weekly_job: UnresolvedAssetJobDefinition) -> SensorDefinition:
    """The sensor requesting ``weekly_job`` for each closed week among ``weeks``."""

    @sensor(
        name="weekly_on_closed_week",
        job=weekly_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Requests the weekly run of every week raw.feedback has moved past (once per week).",
    )
    def weekly_on_closed_week(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
        state = json.loads(context.cursor) if context.cursor else {}
        if isinstance(state, list):  # the cursor of earlier versions: the requested weeks
            state = {"requested": state}
        requested, said = set(state.get("requested", [])), set(state.get("outside", []))
        table = lake_catalog.ensure_table(reasonlake.catalog(), "raw.feedback")
        known = set(weeks.get_partition_keys())
        runs, outside = [], []
        for week in closed_weeks(lake_catalog.partition_days(table, "created_at")):
            if week in requested:
                continue
            key = week_to_partition_key(week)
            if key not in known:  # said once; run once the partitions cover it (definitions reloaded)
                if week not in said:
                    outside.append(week)
                continue
            requested.add(week)
            runs.append(
                RunRequest(partition_key=key, run_key=f"weekly-{week}", tags={"reasonlake/trigger": "closed-week"})
            )
        if outside:
            first = partition_key_to_week(weeks.start.date().isoformat())
            context.log.warning(
                f"weeks outside the weekly partitions (from {first}), not run: {', '.join(outside)}; "
                "set REASONLAKE_FIRST_WEEK, or restart `reasonlake run` (the partitions start at the data's "
                "first week when the definitions load), to run them"
            )
        cursor = {"requested": sorted(requested), "outside": sorted(said | set(outside))}
        return SensorResult(run_requests=runs, cursor=json.dumps(cursor))

    return weekly_on_closed_week
