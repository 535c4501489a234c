"""Weekly topic fit: ml/topic_model (artefact on disk), ml/topics and ml/message_topics (Iceberg).

One fit produces the three, so they are one multi-asset (a model, its topics and each message's
topic always agree). A thin shell over :func:`dagster_project.topics.weekly.fit_week`.
"""

from typing import Optional

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetSpec, Config, MaterializeResult, MetadataValue, multi_asset

from dagster_project.cleaning.marts import read_week_messages
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.topics.model import OUTLIER, TopicModelParams, load_embedder
from dagster_project.topics.sentiment import DissatisfactionRule
from dagster_project.topics.weekly import fit_week, write_weekly_fit
from lake.weeks import partition_key_to_week

MART = AssetKey(["marts", "fct_feedback_messages"])
TOPIC_MODEL = AssetKey(["ml", "topic_model"])
TOPICS = AssetKey(["ml", "topics"])
MESSAGE_TOPICS = AssetKey(["ml", "message_topics"])

_P, _R = TopicModelParams(), DissatisfactionRule()


class TopicFitConfig(Config):
    """Run config of the weekly fit (defaults: ``TopicModelParams`` and ``DissatisfactionRule``)."""

    seed: int = _P.seed
    min_topic_size: Optional[int] = _P.min_topic_size
    min_topic_share: float = _P.min_topic_share
    outlier_threshold: float = _P.outlier_threshold
    max_rating: int = _R.max_rating
    compound_threshold: float = _R.compound_threshold

    def params(self) -> TopicModelParams:
        return TopicModelParams(seed=self.seed, min_topic_size=self.min_topic_size,
                                min_topic_share=self.min_topic_share, outlier_threshold=self.outlier_threshold)

    def rule(self) -> DissatisfactionRule:
        return DissatisfactionRule(max_rating=self.max_rating, compound_threshold=self.compound_threshold)


@multi_asset(
    name="weekly_topic_fit",
    specs=[
        AssetSpec(TOPIC_MODEL, deps=[MART], kinds={"python"}, group_name="topics",
                  description="BERTopic model of the week's messages (artefact under models/topics/<week>/)."),
        AssetSpec(TOPICS, deps=[TOPIC_MODEL], kinds={"iceberg"}, group_name="topics",
                  description="ml.topics: the week's topics with labels and keywords."),
        AssetSpec(MESSAGE_TOPICS, deps=[TOPIC_MODEL], kinds={"iceberg"}, group_name="topics",
                  description="ml.message_topics: each message's topic, sentiment and dissatisfaction."),
    ],
    partitions_def=weekly_partitions,
)
def weekly_topic_fit(context: AssetExecutionContext, config: TopicFitConfig, reasonlake: ReasonlakeResource):
    settings = reasonlake.settings()
    week = partition_key_to_week(context.partition_key)
    messages = read_week_messages(settings, week)
    context.log.info(f"{week}: {len(messages)} cleaned messages")
    result = fit_week(messages, week, load_embedder(), settings, config.params(), config.rule(), log=context.log.info)
    write_weekly_fit(settings, result)

    fit, mt = result.fit, result.message_topics
    labels = pd.DataFrame([{"topic_id": t.topic_id, "label": t.label, "size": t.size,
                            "keywords": ", ".join(t.keywords[:6])} for t in fit.topics])
    yield MaterializeResult(asset_key=TOPIC_MODEL, metadata={
        "week": week,
        "model_version": result.model_version,
        "path": MetadataValue.path(str(result.artifact_path)),
        "n_messages": fit.n_documents,
        "n_topics": len(fit.topics),
        "outlier_share": fit.outlier_share,
        "min_topic_size": fit.resolved.min_topic_size,
        "labels": MetadataValue.md(labels.to_markdown(index=False) if len(labels) else "_no topics_"),
    })
    yield MaterializeResult(asset_key=TOPICS, metadata={
        "week": week, "model_version": result.model_version, "dagster/row_count": len(result.topics)})
    yield MaterializeResult(asset_key=MESSAGE_TOPICS, metadata={
        "week": week, "model_version": result.model_version, "dagster/row_count": len(mt),
        "dissatisfied": int(mt["dissatisfied"].sum()),
        "outliers": int((mt["topic_id"] == OUTLIER).sum()),
    })
