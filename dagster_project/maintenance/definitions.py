from dagster import Definitions

from dagster_project.maintenance.assets import alerts_maintenance, raw_feedback_maintenance
from dagster_project.maintenance.schedules import maintenance_job, maintenance_schedule

defs = Definitions(
    assets=[raw_feedback_maintenance, alerts_maintenance], jobs=[maintenance_job], schedules=[maintenance_schedule]
)
