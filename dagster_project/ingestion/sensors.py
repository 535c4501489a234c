"""What the PyFlink ingest job commits, reported to Dagster (:mod:`dagster_project.commits`): one
materialization of ``raw/feedback`` and one of ``raw/feedback_rejected`` every 5 minutes, covering the
commits since the last report. Freshness checks and the weekly trigger (``dagster_project.weekly.sensors``)
build on it."""

from dagster_project.commits import commits_sensor
from lake.maintenance import RAW_TABLES

raw_feedback_commits = commits_sensor(
    "raw_feedback_commits",
    RAW_TABLES,
    "ingest",
    "Reports the ingest job's Iceberg commits since the last report as one materialization of raw/feedback "
    "and one of raw/feedback_rejected (commits, rows, offsets, the newest snapshot id).",
)
