from dagster import Definitions

from dagster_project.topics.assets import weekly_topic_fit
from dagster_project.topics.checks import has_topics, outlier_share_below_max

defs = Definitions(assets=[weekly_topic_fit], asset_checks=[has_topics, outlier_share_below_max])
