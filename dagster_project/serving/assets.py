"""feast/reasons: the week's election in the Feast online store, and the topic model it belongs to
made CURRENT for the streaming alert job (only once its reasons are online, so the two agree)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week
from reasons.election.report import top_reasons_markdown
from reasons.topics.artifact import artifact_path, set_current

REASONS = AssetKey(["feast", "reasons"])


@asset(
    key=REASONS,
    deps=[AssetKey(["ml", "elections"])],
    partitions_def=weekly_partitions,
    group_name="serving",
    kinds={"feast", "sqlite"},
    description="Feature view 'reasons' online (entity reason_id): every candidate reason of the week with "
    "label, rank, share, elected, week, model_version.",
)
def reasons(context: AssetExecutionContext, reasonlake: ReasonlakeResource) -> MaterializeResult:
    from feature_repo.config import reasons_parquet
    from feature_repo.publish import publish_reasons

    settings = reasonlake.settings()
    week = partition_key_to_week(context.partition_key)
    history = lake_catalog.read(reasonlake.catalog(), "ml.elections").to_pandas()
    rows = history[history["week"] == week]
    context.log.info(f"{week}: publishing {len(rows)} reasons to the {settings.online_store} online store")
    publish_reasons(settings, history, week)
    versions = rows["model_version"].unique()
    current = set_current(settings, artifact_path(settings, week, versions[0]))
    context.log.info(f"current topic model: {current}")
    return MaterializeResult(
        metadata={
            "week": week,
            "model_version": str(versions[0]),
            "reasons_online": len(rows),
            "elected": MetadataValue.md(top_reasons_markdown(rows)),
            "offline_parquet": MetadataValue.path(str(reasons_parquet(settings))),
            "current_topic_model": MetadataValue.path(str(current)),
        }
    )
