"""Checks of serving: the online store answers the live week's election (the newest promoted week:
after a replay of an older week it must still be the live one's, untouched)."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    WeeklyPartitionsDefinition,
    asset_check,
)
from pyiceberg.expressions import EqualTo

from dagster_project.resources import ReasonlakeResource
from dagster_project.serving.assets import REASONS
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week
from reasons.topics.artifact import live_week


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetChecksDefinition]:
    """The serving check over ``weeks``."""

    @asset_check(
        asset=REASONS,
        partitions_def=weeks,
        description="Every reason of the live week's election reads back from the online store as elected or not, "
        "with that week (a replayed older week leaves the live one online).",
    )
    def online_matches_election(
        context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource
    ) -> AssetCheckResult:
        from feature_repo.online import ReasonLookup

        settings = reasonlake.settings()
        week = partition_key_to_week(context.partition_key)
        live = live_week(settings) or week
        rows = lake_catalog.read(
            reasonlake.catalog(),
            "ml.elections",
            row_filter=EqualTo("week", live),
            selected_fields=("reason_id", "elected"),
        ).to_pylist()
        online = ReasonLookup(settings).get([r["reason_id"] for r in rows])
        wrong = [
            r["reason_id"]
            for r in rows
            if (online.get(r["reason_id"]) or {}).get("elected") != r["elected"]
            or (online.get(r["reason_id"]) or {}).get("week") != live
        ]
        return AssetCheckResult(
            passed=bool(rows) and not wrong,
            metadata={"week": week, "live_week": live, "reasons": len(rows), "mismatched": ", ".join(wrong) or "none"},
        )

    return [online_matches_election]
