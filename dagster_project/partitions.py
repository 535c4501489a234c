"""The weekly partitioning shared by the fit, the election and serving (ISO weeks, Monday)."""

from dagster import WeeklyPartitionsDefinition

weekly_partitions = WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1, timezone="UTC")
