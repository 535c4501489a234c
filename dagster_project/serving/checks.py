"""Checks of serving: the online store answers the week's elected reasons."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, asset_check
from pyiceberg.expressions import EqualTo

from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving.assets import REASONS
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week


@asset_check(
    asset=REASONS,
    partitions_def=weekly_partitions,
    description="Every reason of the week's election reads back from the online store as elected or not.",
)
def online_matches_election(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
    from feature_repo.online import ReasonLookup

    week = partition_key_to_week(context.partition_key)
    rows = lake_catalog.read(
        reasonlake.catalog(), "ml.elections", row_filter=EqualTo("week", week), selected_fields=("reason_id", "elected")
    ).to_pylist()
    online = ReasonLookup(reasonlake.settings(), ttl_s=0).get([r["reason_id"] for r in rows])
    wrong = [r["reason_id"] for r in rows if (online.get(r["reason_id"]) or {}).get("elected") != r["elected"]]
    return AssetCheckResult(
        passed=bool(rows) and not wrong,
        metadata={"week": week, "reasons": len(rows), "mismatched": ", ".join(wrong) or "none"},
    )
