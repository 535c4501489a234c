"""The weekly election of the top reasons customers are unhappy. Pure, no Dagster.

Every topic of the week's model is a candidate; candidates are ranked by their number of
dissatisfied messages (ties: lower topic id first). A candidate is elected when it ranks within
``top_k`` AND has at least ``min_count`` dissatisfied messages AND at least ``min_share`` of the
week's dissatisfied messages. The outlier topic (-1) is listed last for the audit, never elected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

import pandas as pd

from dagster_project.topics.model import OUTLIER, OUTLIER_LABEL, reason_id

COLUMNS = ["week", "topic_id", "reason_id", "label", "rank", "message_count", "share", "elected", "why",
           "model_version", "elected_at"]


@dataclass(frozen=True)
class ElectionPolicy:
    top_k: int = 3
    min_count: int = 5
    min_share: float = 0.05


def elect(message_topics: pd.DataFrame, labels: Mapping[int, str], policy: ElectionPolicy, week: str,
          model_version: str, elected_at: datetime | None = None) -> pd.DataFrame:
    """Rows of ``ml.elections`` for one week, ordered by rank.

    ``message_topics`` needs ``topic_id`` and ``dissatisfied`` columns (one row per message);
    ``labels`` maps every topic id of the model to its label (topics without dissatisfied messages
    are candidates with a count of 0).
    """
    elected_at = elected_at or datetime.now(timezone.utc)
    unhappy = message_topics.loc[message_topics["dissatisfied"].astype(bool), "topic_id"].astype(int)
    counts = unhappy.value_counts().to_dict()
    total = int(len(unhappy))
    topic_ids = (set(int(t) for t in labels) | set(counts)) - {OUTLIER}
    ranked = sorted(topic_ids, key=lambda t: (-counts.get(t, 0), t))
    if counts.get(OUTLIER):
        ranked.append(OUTLIER)

    rows = []
    for rank, topic_id in enumerate(ranked, start=1):
        count = int(counts.get(topic_id, 0))
        share = count / total if total else 0.0
        elected, why = _verdict(topic_id, rank, count, share, total, policy)
        rows.append({
            "week": week, "topic_id": topic_id, "reason_id": reason_id(model_version, topic_id),
            "label": labels.get(topic_id, OUTLIER_LABEL if topic_id == OUTLIER else f"topic {topic_id}"),
            "rank": rank, "message_count": count, "share": share, "elected": elected, "why": why,
            "model_version": model_version, "elected_at": elected_at,
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"topic_id": "int32", "rank": "int32", "message_count": "int64", "share": "float64",
                         "elected": "bool"})


def _verdict(topic_id: int, rank: int, count: int, share: float, total: int,
             policy: ElectionPolicy) -> tuple[bool, str]:
    stats = f"{count} of {total} dissatisfied messages ({share:.1%})"
    if topic_id == OUTLIER:
        return False, f"not elected: outliers (no topic) are never elected; {stats}"
    if rank > policy.top_k:
        return False, f"not elected: rank {rank} is beyond the top {policy.top_k}; {stats}"
    if count < policy.min_count:
        return False, f"not elected: {count} dissatisfied messages, fewer than the minimum {policy.min_count}"
    if share < policy.min_share:
        return False, f"not elected: {share:.1%} of dissatisfied messages, below the minimum {policy.min_share:.0%}"
    return True, f"elected: rank {rank} of the top {policy.top_k}, {stats}"


def top_reasons_markdown(elections: pd.DataFrame) -> str:
    """The elected reasons as a markdown table (for Dagster metadata and the CLI)."""
    elected = elections[elections["elected"]].sort_values("rank")
    if elected.empty:
        return "_no reason elected this week_"
    lines = ["| rank | reason | dissatisfied | share | reason_id |", "|---:|---|---:|---:|---|"]
    lines += [f"| {r.rank} | {r.label} | {r.message_count} | {r.share:.1%} | `{r.reason_id}` |"
              for r in elected.itertuples()]
    return "\n".join(lines)
