"""What the PyFlink ingest job commits, reported to Dagster (:mod:`dagster_project.commits`): one
materialization of ``raw/feedback`` and one of ``raw/feedback_rejected`` every 5 minutes, covering the
commits since the last report. Freshness checks and the weekly trigger (``dagster_project.weekly.sensors``)
build on it."""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from dagster_project.commits import REPORT_INTERVAL_S, commits_in, unreported_commits
from dagster_project.resources import ReasonlakeResource
from lake.maintenance import RAW_TABLES


@sensor(
    name="raw_feedback_commits",
    minimum_interval_seconds=REPORT_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports the ingest job's Iceberg commits since the last report as one materialization of "
    "raw/feedback and one of raw/feedback_rejected (commits, rows, offsets, the newest snapshot id).",
)
def raw_feedback_commits(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
    events = unreported_commits(context.instance, reasonlake.catalog(), RAW_TABLES)
    if events:
        context.log.info(f"reporting {commits_in(events)} ingest commit(s)")
    return SensorResult(asset_events=events)
