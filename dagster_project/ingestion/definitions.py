from dagster import Definitions

from dagster_project.ingestion.assets import INGESTION_ASSETS
from dagster_project.ingestion.checks import freshness_checks, freshness_sensor
from dagster_project.ingestion.sensors import raw_feedback_commits

defs = Definitions(
    assets=INGESTION_ASSETS, asset_checks=freshness_checks, sensors=[raw_feedback_commits, freshness_sensor]
)
