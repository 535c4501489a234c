"""The daily maintenance job and its schedule (02:30 UTC)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from dagster_project.maintenance.assets import ALERTS_MAINTENANCE, RAW_FEEDBACK_MAINTENANCE

maintenance_job = define_asset_job("lake_maintenance", selection=[RAW_FEEDBACK_MAINTENANCE, ALERTS_MAINTENANCE])
maintenance_schedule = ScheduleDefinition(
    name="lake_maintenance_schedule",
    job=maintenance_job,
    cron_schedule="30 2 * * *",
    default_status=DefaultScheduleStatus.RUNNING,  # on as soon as a daemon runs
)
