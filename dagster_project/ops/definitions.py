from dagster import Definitions

from dagster_project.ops.sensors import ops_failed_checks, ops_run_failures

defs = Definitions(sensors=[ops_run_failures, ops_failed_checks])
