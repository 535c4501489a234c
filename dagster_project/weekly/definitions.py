from dagster import Definitions

from dagster_project.weekly.schedules import weekly_job, weekly_schedule
from dagster_project.weekly.sensors import weekly_on_closed_week

defs = Definitions(jobs=[weekly_job], schedules=[weekly_schedule], sensors=[weekly_on_closed_week])
