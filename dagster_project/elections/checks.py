"""Checks of the weekly election, read back from ml.elections for the checked week."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    WeeklyPartitionsDefinition,
    asset_check,
)
from pyiceberg.expressions import EqualTo

from dagster_project.elections.assets import ELECTIONS
from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.weeks import partition_key_to_week
from reasons.topics.params import OUTLIER


def _week_rows(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> tuple[str, list[dict]]:
    week = partition_key_to_week(context.partition_key)
    return week, lake_catalog.read(reasonlake.catalog(), "ml.elections", row_filter=EqualTo("week", week)).to_pylist()


#: the promotion gates (reasons.weekly.election.evaluate_gates), each a blocking check ``gate_<name>``
GATES = {
    "outlier_share": "Gate: the week's outlier share is at most the policy's max_outlier_share.",
    "covered_share": "Gate: at least min_covered_share of dissatisfied messages fall in a reason (not outliers, nor a "
    "refused catch-all or little of everything, nor a topic of mostly satisfied messages).",
    "change_against_last_week": "Gate: at most max_new_reason_share of non-outlier messages are in reasons born "
    "this week (a refit must not rename the world).",
}


def _gate(name: str):
    def check(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
        from reasons.weekly.election import evaluate_gates

        week = partition_key_to_week(context.partition_key)
        _, gates = reasonlake.policy()
        [gate] = [g for g in evaluate_gates(reasonlake.settings(), week, gates) if g.gate == name]
        why = gate.why if gate.passed else f"{gate.why}: NOT promoted, last week's reasons stay live"
        return AssetCheckResult(
            passed=gate.passed,
            metadata={
                "week": week,
                "value": gate.value if gate.value is not None else float("nan"),
                "limit": gate.limit if gate.limit is not None else "off",
                "why": why,
            },
        )

    return check


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetChecksDefinition]:
    """The election's checks and its blocking promotion gates over ``weeks``."""

    @asset_check(
        asset=ELECTIONS,
        partitions_def=weeks,
        description="At least one reason is elected when the week has dissatisfied messages.",
    )
    def elected_when_dissatisfied(
        context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource
    ) -> AssetCheckResult:
        week, rows = _week_rows(context, reasonlake)
        dissatisfied = sum(r["message_count"] for r in rows)
        elected = [r["label"] for r in rows if r["elected"]]
        return AssetCheckResult(
            passed=bool(elected) or dissatisfied == 0,
            metadata={"week": week, "dissatisfied": dissatisfied, "elected": ", ".join(elected)},
        )

    @asset_check(
        asset=ELECTIONS,
        partitions_def=weeks,
        description="Ranks run 1..n, outliers are never elected, shares sum to at most 1.",
    )
    def election_is_consistent(context: AssetCheckExecutionContext, reasonlake: ReasonlakeResource) -> AssetCheckResult:
        week, rows = _week_rows(context, reasonlake)
        problems = []
        if sorted(r["rank"] for r in rows) != list(range(1, len(rows) + 1)):
            problems.append("ranks are not 1..n")
        if any(r["elected"] and r["topic_id"] == OUTLIER for r in rows):
            problems.append("the outlier topic is elected")
        if sum(r["share"] for r in rows) > 1 + 1e-9:
            problems.append("shares sum above 1")
        return AssetCheckResult(passed=not problems, metadata={"week": week, "problems": "; ".join(problems) or "none"})

    # ---- promotion gates: blocking, so a failing one keeps feast/reasons (and the alert job) on last week ----
    gates = [
        asset_check(asset=ELECTIONS, name=f"gate_{gate}", partitions_def=weeks, blocking=True, description=why)(
            _gate(gate)
        )
        for gate, why in GATES.items()
    ]
    return [elected_when_dissatisfied, election_is_consistent, *gates]
