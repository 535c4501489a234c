"""The weekly job (the whole graph from dbt to Feast, one ISO week a run) and its schedule."""

from dagster import AssetSelection, DefaultScheduleStatus, build_schedule_from_partitioned_job, define_asset_job

from dagster_project.partitions import weekly_partitions

# the groups of the weekly graph, named: the daily maintenance of the raw tables is not part of it
WEEKLY_GROUPS = ("cleaning", "topics", "elections", "serving")

weekly_job = define_asset_job(
    name="weekly",
    selection=AssetSelection.groups(*WEEKLY_GROUPS),
    partitions_def=weekly_partitions,
    tags={"reasonlake/weekly": "true"},  # the run queue runs one of them at a time (reasonlake.weekly)
    description="dbt cleaning -> topic fit -> message topics -> election -> Feast, for one ISO week.",
)

# Monday 03:00 UTC, for the week that just ended; on as soon as a daemon runs (`reasonlake run`, `ui`).
weekly_schedule = build_schedule_from_partitioned_job(
    weekly_job, hour_of_day=3, minute_of_hour=0, default_status=DefaultScheduleStatus.RUNNING
)
