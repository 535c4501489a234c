"""Freshness of the raw tables: the ingest job committed within the last hour (a warning, not an
error: a quiet hour with no feedback is not a failure). Fed by the ``raw_feedback_commits`` sensor."""

from datetime import timedelta

from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from dagster_project.ingestion.assets import raw_feedback, raw_feedback_rejected

FRESH_WITHIN = timedelta(hours=1)

freshness_checks = build_last_update_freshness_checks(
    assets=[raw_feedback.key, raw_feedback_rejected.key],
    lower_bound_delta=FRESH_WITHIN,
    severity=AssetCheckSeverity.WARN,
)
freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, name="raw_freshness", default_status=DefaultSensorStatus.RUNNING
)
