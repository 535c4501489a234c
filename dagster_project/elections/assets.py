"""ml/elections: the week's top reasons customers are unhappy (Iceberg), with the explanation and charts."""

import base64
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    WeeklyPartitionsDefinition,
    asset,
)

from dagster_project.partitions import ONE_WEEK_A_RUN
from dagster_project.resources import ReasonlakeResource
from lake.weeks import partition_key_to_week
from reasons.election.policy import ElectionPolicy
from reasons.election.report import explanation_markdown, top_reasons_markdown
from reasons.weekly.election import run_election

ELECTIONS = AssetKey(["ml", "elections"])


class ElectionConfig(Config):
    """Run-time overrides of the run's policy (the policy file is a setting: REASONLAKE_POLICY_FILE)."""

    top_k: int | None = None
    min_count: int | None = None
    min_share: float | None = None

    def policy(self, policy: ElectionPolicy) -> ElectionPolicy:
        from dataclasses import replace

        overrides: dict[str, Any] = {
            k: v
            for k, v in (("top_k", self.top_k), ("min_count", self.min_count), ("min_share", self.min_share))
            if v is not None
        }
        if overrides:  # a run-time override is a different policy: say so in its version
            policy = replace(
                policy,
                **overrides,
                policy_version=policy.policy_version + "+" + ",".join(f"{k}={v}" for k, v in sorted(overrides.items())),
            )
        return policy


def _png_markdown(path: Path, title: str) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    """ml/elections over the weekly partitions ``weeks``."""

    @asset(
        key=ELECTIONS,
        deps=[AssetKey(["ml", "message_topics"]), AssetKey(["ml", "topics"]), AssetKey(["ml", "reasons"])],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
        group_name="elections",
        kinds={"iceberg"},
        description="ml.elections: every candidate reason of the week ranked by (source-weighted) dissatisfied "
        "messages, the top ones elected under the versioned policy, each with why. Written in shadow: "
        "the blocking gates must pass before feast/reasons serves it.",
    )
    def elections(
        context: AssetExecutionContext, config: ElectionConfig, reasonlake: ReasonlakeResource
    ) -> MaterializeResult:
        week = partition_key_to_week(context.partition_key)
        policy = config.policy(reasonlake.policy()[0])
        outcome = run_election(reasonlake.settings(), week, policy)
        rows = outcome.elections
        elected = rows[rows["elected"]]
        context.log.info(
            f"{week}: elected {list(elected['label'])} from {len(rows)} candidates (policy {policy.policy_version})"
        )
        return MaterializeResult(
            metadata={
                "week": week,
                "model_version": outcome.model_version,
                "policy_version": policy.policy_version,
                "policy": MetadataValue.json(
                    {k: (dict(v) if k == "source_weights" else v) for k, v in policy.__dict__.items()}
                ),
                "snapshot_ids": MetadataValue.json({k: v for k, v in outcome.snapshot_ids.items()}),
                "dagster/row_count": len(rows),
                "elected": len(elected),
                "dissatisfied_messages": int(rows["message_count"].sum()),
                "top_reasons": MetadataValue.md(top_reasons_markdown(rows)),
                "explanation": MetadataValue.md(explanation_markdown(rows)),
                "election_chart": MetadataValue.path(str(outcome.election_png)),
                "election_chart_preview": MetadataValue.md(_png_markdown(outcome.election_png, f"election {week}")),
                "topics_over_time_chart": MetadataValue.path(str(outcome.over_time_png)),
                "topics_over_time_preview": MetadataValue.md(_png_markdown(outcome.over_time_png, "reasons over time")),
                "report": MetadataValue.path(str(outcome.report_paths[1])),
                "report_markdown": MetadataValue.path(str(outcome.report_paths[0])),
            }
        )

    return [elections]
