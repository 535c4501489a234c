"""Notifications: a failed run and a failed asset check (a blocking gate that kept last week's reasons
live, a data test) are published to Kafka ``feedback.ops`` and the configured webhook
(:mod:`flink.ops_events`), and show in the UI as the sensors' ticks."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    AssetCheckEvaluation,
    DagsterEventType,
    DefaultSensorStatus,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from dagster_project.resources import ReasonlakeResource
from flink.ops_events import publish


@run_failure_sensor(
    name="ops_run_failures",
    default_status=DefaultSensorStatus.RUNNING,
    description="Publishes every failed run to feedback.ops (and the ops webhook).",
)
def ops_run_failures(context: RunFailureSensorContext, reasonlake: ReasonlakeResource) -> None:
    run = context.dagster_run
    event = {
        "kind": "run_failed",
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": run.tags.get("dagster/partition"),
        "error": context.failure_event.message,
        "at": datetime.now(UTC).isoformat(),
    }
    context.log.info(f"run {run.run_id} failed: sent to {publish(reasonlake.settings(), event)}")


@sensor(
    name="ops_failed_checks",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Publishes every failed asset check (gates included) to feedback.ops (and the ops webhook).",
)
def ops_failed_checks(context: SensorEvaluationContext, reasonlake: ReasonlakeResource):
    records_filter = EventRecordsFilter(
        event_type=DagsterEventType.ASSET_CHECK_EVALUATION,
        after_cursor=int(context.cursor) if context.cursor else None,
    )
    if context.cursor is None:  # start from now: what failed before the sensor existed is in the UI
        latest = context.instance.get_event_records(records_filter, limit=1, ascending=False)
        return SensorResult(cursor=str(latest[0].storage_id if latest else 0))
    records = context.instance.get_event_records(records_filter, limit=100, ascending=True)
    if not records:
        return SkipReason("no new check evaluation")
    settings = reasonlake.settings()
    failed = 0
    for record in records:
        entry = record.event_log_entry
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if not isinstance(evaluation, AssetCheckEvaluation) or evaluation.passed:
            continue
        failed += 1
        why = evaluation.metadata.get("why")
        publish(
            settings,
            {
                "kind": "check_failed",
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "blocking": bool(evaluation.blocking),
                "severity": evaluation.severity.value,
                "partition": evaluation.partition,
                "run_id": entry.run_id,
                "why": why.value if why is not None else evaluation.description,
                "at": datetime.fromtimestamp(entry.timestamp, UTC).isoformat(),
            },
        )
    context.log.info(f"{failed} failed check(s) of {len(records)} evaluation(s) published")
    return SensorResult(cursor=str(records[-1].storage_id))
