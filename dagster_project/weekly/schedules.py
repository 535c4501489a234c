"""The weekly job (the whole graph from dbt to Feast, one ISO week a run) and its schedule."""

from typing import TYPE_CHECKING

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    WeeklyPartitionsDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

if TYPE_CHECKING:  # what define_asset_job and build_schedule_from_partitioned_job return (not exported)
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

# the groups of the weekly graph, named: the daily maintenance of the raw tables is not part of it
WEEKLY_GROUPS = ("cleaning", "topics", "elections", "serving")


def build(
    weeks: WeeklyPartitionsDefinition,
) -> tuple["UnresolvedAssetJobDefinition", "UnresolvedPartitionedAssetScheduleDefinition | ScheduleDefinition"]:
    """The weekly job over ``weeks`` and its Monday schedule."""
    weekly_job = define_asset_job(
        name="weekly",
        selection=AssetSelection.groups(*WEEKLY_GROUPS),
        partitions_def=weeks,
        tags={"reasonlake/weekly": "true"},  # the run queue runs one of them at a time (reasonlake.weekly)
        description="dbt cleaning -> topic fit -> message topics -> election -> Feast, for one ISO week.",
    )
    # Monday 03:00 UTC, for the week that just ended; on as soon as a daemon runs (`reasonlake run`, `ui`).
    weekly_schedule = build_schedule_from_partitioned_job(
        weekly_job, hour_of_day=3, minute_of_hour=0, default_status=DefaultScheduleStatus.RUNNING
    )
    return weekly_job, weekly_schedule
