"""What the PyFlink alert job writes, reported to Dagster (:mod:`dagster_project.commits`): one
materialization of ``alerts/alerts`` every 5 minutes while alerts flow, covering the alert writer's
commits since the last report (how many, alerts added, total alerts, the newest snapshot id)."""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from dagster_project.commits import REPORT_INTERVAL_S, commits_in, unreported_commits
from dagster_project.resources import ReasonlakeResource
from lake.schemas import ALERTS


@sensor(
    name="alerts_commits",
    minimum_interval_seconds=REPORT_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports the alert job's Iceberg commits to alerts.alerts since the last report as one "
    "materialization of alerts/alerts (commits, alerts added, total alerts, the newest snapshot id).",
)
def alerts_commits(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    events = unreported_commits(context.instance, reasonlake.catalog(), (ALERTS.identifier,))
    if events:
        context.log.info(f"reporting {commits_in(events)} alert-writer commit(s)")
    return SensorResult(asset_events=events)
