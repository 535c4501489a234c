from dagster import Definitions

from dagster_project.maintenance.assets import maintenance_job, maintenance_schedule, raw_feedback_maintenance

defs = Definitions(assets=[raw_feedback_maintenance], jobs=[maintenance_job], schedules=[maintenance_schedule])
