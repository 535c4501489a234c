"""The weekly partitioning shared by dbt, the fit, the election and serving (ISO weeks, Monday).

The partitions start at the home's first week: ``Settings.first_week`` when set
(``REASONLAKE_FIRST_WEEK``), else the first week of ``raw.feedback``'s data when the definitions load
(read from the table's manifests), else the last complete week. So an archive from 2015 replays
(its weeks are partitions), and the UI offers no empty years before the data. Weeks ingested later,
older than the first partition, are named by the ``weekly_on_closed_week`` sensor; the definitions
pick them up when they load again (``reasonlake run`` restarted, or "Reload" in the UI).
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import BackfillPolicy, WeeklyPartitionsDefinition

from lake import catalog as lake_catalog
from lake.settings import Settings
from lake.weeks import last_complete_week, week_of, week_to_partition_key

#: every weekly asset's: a backfill runs each week in its own run, and the assets of one week can share it
ONE_WEEK_A_RUN = BackfillPolicy.multi_run(1)


def weekly_partitions(first_week: str) -> WeeklyPartitionsDefinition:
    """ISO weeks from ``first_week`` (``YYYY-Www``) to the last complete week, keyed by their Monday."""
    return WeeklyPartitionsDefinition(start_date=week_to_partition_key(first_week), day_offset=1, timezone="UTC")


def first_week(settings: Settings, now: datetime | None = None) -> str:
    """The first weekly partition of the home (see the module's docstring)."""
    if settings.first_week:
        return settings.first_week
    catalog = lake_catalog.load(settings)
    days = (
        lake_catalog.partition_days(catalog.load_table("raw.feedback"), "created_at")
        if catalog.table_exists("raw.feedback")
        else set()
    )
    if days:
        return week_of(min(days))
    return last_complete_week(now or datetime.now(UTC))
