"""What the PyFlink alert job writes, reported to Dagster (:mod:`dagster_project.commits`): one
materialization of ``alerts/alerts`` every 5 minutes while alerts flow, covering the alert writer's
commits since the last report (how many, alerts added, total alerts, the newest snapshot id)."""

from dagster_project.commits import commits_sensor
from lake.schemas import ALERTS

alerts_commits = commits_sensor(
    "alerts_commits",
    (ALERTS.identifier,),
    "alert-writer",
    "Reports the alert job's Iceberg commits to alerts.alerts since the last report as one materialization "
    "of alerts/alerts (commits, alerts added, total alerts, the newest snapshot id).",
)
