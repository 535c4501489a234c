"""ml/elections: the week's top reasons customers are unhappy (Iceberg), with charts."""


import base64
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset

from dagster_project.elections.policy import ElectionPolicy, top_reasons_markdown
from dagster_project.elections.weekly import run_election
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from lake.weeks import partition_key_to_week

ELECTIONS = AssetKey(["ml", "elections"])
_P = ElectionPolicy()


class ElectionConfig(Config):
    top_k: int = _P.top_k
    min_count: int = _P.min_count
    min_share: float = _P.min_share

    def policy(self) -> ElectionPolicy:
        return ElectionPolicy(top_k=self.top_k, min_count=self.min_count, min_share=self.min_share)


def _png_markdown(path: Path, title: str) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"


@asset(key=ELECTIONS, deps=[AssetKey(["ml", "message_topics"]), AssetKey(["ml", "topics"])],
       partitions_def=weekly_partitions, group_name="elections", kinds={"iceberg"},
       description="ml.elections: every candidate reason of the week ranked by dissatisfied messages; "
                   "the top ones elected (see ElectionPolicy).")
def elections(context: AssetExecutionContext, config: ElectionConfig, reasonlake: ReasonlakeResource) -> MaterializeResult:
    week = partition_key_to_week(context.partition_key)
    outcome = run_election(reasonlake.settings(), week, config.policy())
    rows = outcome.elections
    elected = rows[rows["elected"]]
    context.log.info(f"{week}: elected {list(elected['label'])} from {len(rows)} candidates")
    return MaterializeResult(metadata={
        "week": week,
        "model_version": outcome.model_version,
        "dagster/row_count": len(rows),
        "elected": len(elected),
        "dissatisfied_messages": int(rows["message_count"].sum()),
        "top_reasons": MetadataValue.md(top_reasons_markdown(rows)),
        "election_chart": MetadataValue.path(str(outcome.election_png)),
        "election_chart_preview": MetadataValue.md(_png_markdown(outcome.election_png, f"election {week}")),
        "topics_over_time_chart": MetadataValue.path(str(outcome.over_time_png)),
        "topics_over_time_preview": MetadataValue.md(_png_markdown(outcome.over_time_png, "reasons over time")),
    })
