from dagster import Definitions

from dagster_project.ingestion.assets import INGESTION_ASSETS

defs = Definitions(assets=INGESTION_ASSETS)
