"""feast/reasons: the week's election in the Feast online store, and the topic model it belongs to
made CURRENT for the streaming alert job (only once its reasons are online, so the two agree).

Only the newest promoted week is live: materializing or replaying an older week exports its rows to
the offline history (the source parquet) but changes neither the online store nor the current model.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    WeeklyPartitionsDefinition,
    asset,
)

from dagster_project.partitions import ONE_WEEK_A_RUN
from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week
from reasons.election.report import top_reasons_markdown
from reasons.topics.artifact import (
    ArtifactError,
    artifact_path,
    current_artifact_path,
    is_older_than_live,
    live_week,
    set_current,
    verify_artifact,
)

REASONS = AssetKey(["feast", "reasons"])


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    """feast/reasons over the weekly partitions ``weeks``."""

    @asset(
        key=REASONS,
        deps=[AssetKey(["ml", "elections"])],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
        group_name="serving",
        kinds={"feast", "sqlite"},
        description="Feature view 'reasons' online (entity reason_id): every candidate reason of the newest promoted "
        "week with label, rank, share, elected, week, model_version, valid_until. An older week only joins the "
        "offline history.",
    )
    def reasons(context: AssetExecutionContext, reasonlake: ReasonlakeResource) -> MaterializeResult:
        from feature_repo.config import reasons_parquet
        from feature_repo.publish import export_reasons, publish_reasons, valid_until

        settings = reasonlake.settings()
        policy, _ = reasonlake.policy()
        week = partition_key_to_week(context.partition_key)
        history = lake_catalog.read(reasonlake.catalog(), "ml.elections").to_pandas()
        rows = history[history["week"] == week]
        version = str(rows["model_version"].iloc[0])
        metadata: dict[str, Any] = {
            "week": week,
            "model_version": version,
            "elected": MetadataValue.md(top_reasons_markdown(rows)),
            "offline_parquet": MetadataValue.path(str(reasons_parquet(settings))),
        }
        if is_older_than_live(settings, week):
            export_reasons(settings, history, policy.valid_weeks)
            context.log.info(
                f"{week} is older than the live week {live_week(settings)}: history only, nothing goes live"
            )
            return MaterializeResult(metadata={**metadata, "live": False, "live_week": str(live_week(settings))})
        path = artifact_path(settings, week, version)
        try:  # before anything goes online: a model the alert job cannot load never becomes current
            verify_artifact(path, version)
        except ArtifactError as exc:
            live = current_artifact_path(settings)
            raise Failure(
                description=f"{week}: {exc}. Nothing was published: the live model stays "
                f"{live.name + ' (' + live.parent.name + ')' if live else 'none'}. Re-run the week to refit it.",
                metadata={"artifact": MetadataValue.path(str(path))},
            ) from None
        until = valid_until(week, policy.valid_weeks)
        context.log.info(
            f"{week}: publishing {len(rows)} reasons to the {settings.online_store} online store "
            f"(valid until {until.isoformat()})"
        )
        publish_reasons(settings, history, week, policy.valid_weeks)
        current = set_current(settings, path)
        context.log.info(f"current topic model: {current}")
        return MaterializeResult(
            metadata={
                **metadata,
                "live": True,
                "reasons_online": len(rows),
                "valid_until": until.isoformat(),
                "current_topic_model": MetadataValue.path(str(current)),
            }
        )

    return [reasons]
