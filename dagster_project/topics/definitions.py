from dagster import Definitions

from dagster_project.topics.assets import message_embeddings, reason_registry, topic_model, topic_tables
from dagster_project.topics.checks import has_topics, outlier_share_below_max, stream_batch_agreement_check

defs = Definitions(
    assets=[message_embeddings, topic_model, reason_registry, topic_tables],
    asset_checks=[has_topics, outlier_share_below_max, stream_batch_agreement_check],
)
