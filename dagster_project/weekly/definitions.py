from dagster import Definitions, WeeklyPartitionsDefinition

from dagster_project.weekly import schedules, sensors


def build_defs(weeks: WeeklyPartitionsDefinition) -> Definitions:
    weekly_job, weekly_schedule = schedules.build(weeks)
    return Definitions(jobs=[weekly_job], schedules=[weekly_schedule], sensors=[sensors.build(weeks, weekly_job)])
