from dagster import Definitions

from dagster_project.alerting.assets import alerts
from dagster_project.alerting.sensors import alerts_commits

defs = Definitions(assets=[alerts], sensors=[alerts_commits])
