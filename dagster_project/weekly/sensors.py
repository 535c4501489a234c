"""The weekly run starts by itself once a week has closed and its data is in: ``raw.feedback`` holds
messages created in the week and, later, messages created after it (an event-time watermark: the
stream has moved past the week). Reads the table's day partitions from its manifests only. Beside the
Monday schedule, it also runs the weeks of an archive replayed into Kafka, oldest first.

Nothing is done twice: a week is requested once (its run key, and the sensor's cursor, which keeps the
week's row count); a week whose graph was already materialized (``ml/elections`` of its partition, e.g.
by ``reasonlake weekly`` or the demo in the same instance) is not requested, only remembered with its
count; a week is requested again only when rows arrived for it since (its count grew: late data; a
compaction keeps the count)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    WeeklyPartitionsDefinition,
    sensor,
)

from dagster_project.elections.assets import ELECTIONS
from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.weeks import closed_weeks, partition_key_to_week, week_of, week_to_partition_key

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def build(weeks: WeeklyPartitionsDefinition, weekly_job: UnresolvedAssetJobDefinition) -> SensorDefinition:
    """The sensor requesting ``weekly_job`` for each closed week among ``weeks``."""

    @sensor(
        name="weekly_on_closed_week",
        job=weekly_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Requests the weekly run of every week raw.feedback has moved past (once per week).",
    )
    def weekly_on_closed_week(context: SensorEvaluationContext, reasonlake: ReasonlakeResource) -> SensorResult:
        requested, said = _cursor(context.cursor)
        table = lake_catalog.ensure_table(reasonlake.catalog(), "raw.feedback")
        day_counts = lake_catalog.partition_day_counts(table, "created_at")
        counts = week_counts(day_counts)
        known = set(weeks.get_partition_keys())
        done: set[str] | None = None  # the weekly graph's materialized partitions, read when needed
        runs, outside = [], []
        for week in closed_weeks(set(day_counts)):
            count, key = counts.get(week, 0), week_to_partition_key(week)
            if week in requested:
                before = requested[week]
                if before is not None and count > before:  # rows arrived since: the week again
                    runs.append(_request(key, f"weekly-{week}-{count}", "late-data"))
                requested[week] = max(count, before or 0)
                continue
            if key not in known:  # said once; run once the partitions cover it (definitions reloaded)
                if week not in said:
                    outside.append(week)
                continue
            if done is None:
                done = context.instance.get_materialized_partitions(ELECTIONS)
            requested[week] = count
            if key in done:
                context.log.info(f"{week} is materialized already (ml/elections): not requested")
                continue
            runs.append(_request(key, f"weekly-{week}", "closed-week"))
        if outside:
            first = partition_key_to_week(weeks.start.date().isoformat())
            context.log.warning(
                f"weeks outside the weekly partitions (from {first}), not run: {', '.join(outside)}; "
                "set REASONLAKE_FIRST_WEEK, or restart `reasonlake run` (the partitions start at the data's "
                "first week when the definitions load), to run them"
            )
        cursor = {"requested": dict(sorted(requested.items())), "outside": sorted(said | set(outside))}
        return SensorResult(run_requests=runs, cursor=json.dumps(cursor))

    return weekly_on_closed_week


def _request(key: str, run_key: str, trigger: str) -> RunRequest:
    return RunRequest(partition_key=key, run_key=run_key, tags={"reasonlake/trigger": trigger})


def _cursor(text: str | None) -> tuple[dict[str, int | None], set[str]]:
    """The requested weeks with their row counts then (None: unknown, from an earlier version's cursor),
    and the weeks said to lie outside the partitions."""
    state = json.loads(text) if text else {}
    if isinstance(state, list):  # the first versions' cursor: the requested weeks
        state = {"requested": state}
    requested = state.get("requested", {})
    if isinstance(requested, list):  # later ones': the requested weeks, no counts
        requested = dict.fromkeys(requested)
    return dict(requested), set(state.get("outside", []))


def week_counts(day_counts: Mapping[date, int]) -> dict[str, int]:
    """Rows per ISO week of per-day counts."""
    out: dict[str, int] = {}
    for day, count in day_counts.items():
        out[week_of(day)] = out.get(week_of(day), 0) + count
    return out
