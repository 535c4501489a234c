from dagster import Definitions

from dagster_project.weekly.schedules import weekly_job, weekly_schedule

defs = Definitions(jobs=[weekly_job], schedules=[weekly_schedule])
