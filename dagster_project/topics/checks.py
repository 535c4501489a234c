"""Checks of the weekly topic fit, read back from the lake for the checked week."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    WeeklyPartitionsDefinition,
    asset_check,
)
from pyiceberg.expressions import EqualTo

from dagster_project.resources import ReasonlakeResource
from dagster_project.topics.assets import MESSAGE_TOPICS, TOPICS
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week
from reasons.topics.params import OUTLIER
from reasons.weekly.topic_fit import stream_batch_agreement

MAX_OUTLIER_SHARE = 0.25


def _week_rows(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource, identifier: str, fields):
    week = partition_key_to_week(context.partition_key)
    table = lake_catalog.read(
        reasonlake.catalog(), identifier, row_filter=EqualTo("week", week), selected_fields=fields
    )
    return week, table


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetChecksDefinition]:
    """The checks of the weekly topic assets over ``weeks``."""

    @asset_check(
        asset=TOPICS,
        partitions_def=weeks,
        description="The week's model found at least one topic besides the outliers.",
    )
    def has_topics(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
        week, table = _week_rows(context, reasonlake, "ml.topics", ("topic_id",))
        n = sum(1 for t in table.column("topic_id").to_pylist() if t != OUTLIER)
        return AssetCheckResult(passed=n > 0, metadata={"week": week, "topics": n})

    @asset_check(
        asset=MESSAGE_TOPICS,
        partitions_def=weeks,
        description=f"At most {MAX_OUTLIER_SHARE:.0%} of the week's messages are outliers (warning only).",
    )
    def outlier_share_below_max(
        context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource
    ) -> AssetCheckResult:
        week, table = _week_rows(context, reasonlake, "ml.message_topics", ("topic_id",))
        topics = table.column("topic_id").to_pylist()
        share = sum(1 for t in topics if t == OUTLIER) / len(topics) if topics else 0.0
        return AssetCheckResult(
            passed=share <= MAX_OUTLIER_SHARE,
            severity=AssetCheckSeverity.WARN,
            metadata={"week": week, "outlier_share": share, "max": MAX_OUTLIER_SHARE, "messages": len(topics)},
        )

    @asset_check(
        asset=MESSAGE_TOPICS,
        partitions_def=weeks,
        name="stream_batch_agreement",
        description="Stream/batch agreement: the alert job's way of assigning (nearest topic centroid of the "
        "saved artefact, on the same embeddings) puts at least the policy's share (90%) of the "
        "week's non-outlier messages in the batch fit's topic (warning only).",
    )
    def stream_batch_agreement_check(
        context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource
    ) -> AssetCheckResult:
        week = partition_key_to_week(context.partition_key)
        floor = reasonlake.policy()[1].min_stream_batch_agreement
        agreement, n = stream_batch_agreement(reasonlake.settings(), week)
        return AssetCheckResult(
            passed=floor is None or agreement >= floor,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "week": week,
                "agreement": agreement,
                "non_outlier_messages": n,
                "floor": floor if floor is not None else "off",
            },
        )

    return [has_topics, outlier_share_below_max, stream_batch_agreement_check]
