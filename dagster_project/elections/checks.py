"""Checks of the weekly election, read back from ml.elections for the checked week."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, asset_check
from pyiceberg.expressions import EqualTo

from dagster_project.elections.assets import ELECTIONS
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.topics.model import OUTLIER
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week


def _week_rows(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> tuple[str, list[dict]]:
    week = partition_key_to_week(context.partition_key)
    return week, lake_catalog.read(reasonlake.catalog(), "ml.elections", row_filter=EqualTo("week", week)).to_pylist()


@asset_check(asset=ELECTIONS, partitions_def=weekly_partitions,
             description="At least one reason is elected when the week has dissatisfied messages.")
def elected_when_dissatisfied(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
    week, rows = _week_rows(context, reasonlake)
    dissatisfied = sum(r["message_count"] for r in rows)
    elected = [r["label"] for r in rows if r["elected"]]
    return AssetCheckResult(passed=bool(elected) or dissatisfied == 0,
                            metadata={"week": week, "dissatisfied": dissatisfied, "elected": ", ".join(elected)})


@asset_check(asset=ELECTIONS, partitions_def=weekly_partitions,
             description="Ranks run 1..n, outliers are never elected, shares sum to at most 1.")
def election_is_consistent(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
    week, rows = _week_rows(context, reasonlake)
    problems = []
    if sorted(r["rank"] for r in rows) != list(range(1, len(rows) + 1)):
        problems.append("ranks are not 1..n")
    if any(r["elected"] and r["topic_id"] == OUTLIER for r in rows):
        problems.append("the outlier topic is elected")
    if sum(r["share"] for r in rows) > 1 + 1e-9:
        problems.append("shares sum above 1")
    return AssetCheckResult(passed=not problems, metadata={"week": week, "problems": "; ".join(problems) or "none"})
