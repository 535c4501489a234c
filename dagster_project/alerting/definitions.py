from dagster import Definitions

from dagster_project.alerting.assets import alerts

defs = Definitions(assets=[alerts])
