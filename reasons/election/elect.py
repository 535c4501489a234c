"""The election: rank every reason of the week and elect the top ones under the policy. Pure.

The rules and their order are in :mod:`reasons.election.policy`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Mapping

import pandas as pd

from reasons.election.policy import ElectionPolicy
from reasons.registry import NOT_A_REASON_ID, weeks_between
from reasons.topics.artifact import reason_id as provisional_reason_id
from reasons.topics.params import OUTLIER, OUTLIER_LABEL

COLUMNS = ["week", "topic_id", "reason_id", "label", "rank", "message_count", "share", "elected", "why",
           "model_version", "elected_at", "policy_version", "score", "previous_count", "count_change", "sources",
           "example_message_ids", "snapshot_ids"]


def elect(message_topics: pd.DataFrame, labels: Mapping[int, str], policy: ElectionPolicy, week: str,
          model_version: str, elected_at: datetime | None = None, *, reason_ids: Mapping[int, str] | None = None,
          previous: pd.DataFrame | None = None, born_weeks: Mapping[str, str] | None = None,
          snapshot_ids: Mapping[str, int | None] | None = None) -> pd.DataFrame:
    """Rows of ``ml.elections`` for one week, ordered by rank.

    ``message_topics`` needs ``topic_id`` and ``dissatisfied`` (one row per message); ``source`` and
    ``message_id`` when present feed the weights, the contributing sources and the examples.
    ``labels`` maps every topic id of the model to its label (topics without dissatisfied messages
    are candidates with a count of 0). ``reason_ids`` maps topic ids to registry reason ids (default:
    the provisional ``<model_version>/<topic_id>``); ``previous`` holds last week's election rows
    (``reason_id``, ``message_count``); ``born_weeks`` the registry's birth week per reason id;
    ``snapshot_ids`` the Iceberg snapshots the election read.
    """
    elected_at = elected_at or datetime.now(timezone.utc)
    frame = message_topics.loc[message_topics["dissatisfied"].astype(bool)].copy()
    frame["topic_id"] = frame["topic_id"].astype(int)
    if "source" not in frame:
        frame["source"] = "unknown"
    if "message_id" not in frame:
        frame["message_id"] = None
    frame["weight"] = [policy.weight(s) for s in frame["source"].astype(str)]

    def rid(topic_id: int) -> str:
        if reason_ids is not None and topic_id in reason_ids:
            return reason_ids[topic_id]
        return provisional_reason_id(model_version, topic_id)

    topic_ids = sorted(set(int(t) for t in labels) | set(frame["topic_id"]))
    reason_of = {t: rid(t) for t in topic_ids}
    frame["reason_id"] = frame["topic_id"].map(reason_of)
    topic_counts = frame["topic_id"].value_counts().to_dict()
    counts = frame["reason_id"].value_counts().to_dict()
    scores = frame.groupby("reason_id")["weight"].sum().to_dict()
    total = float(frame["weight"].sum())
    total_count = int(len(frame))
    members: dict[str, list[int]] = {}
    for t in topic_ids:
        members.setdefault(reason_of[t], []).append(t)
    # a candidate's topic: its topic with the most dissatisfied messages (ties: lower id)
    lead = {r: min(ts, key=lambda t: (-topic_counts.get(t, 0), t)) for r, ts in members.items()}
    never = {r for r, ts in members.items() if OUTLIER in ts or r == NOT_A_REASON_ID}
    ranked = sorted(set(members) - never, key=lambda r: (-scores.get(r, 0.0), -counts.get(r, 0), lead[r]))
    ranked += sorted((r for r in never if counts.get(r)), key=lambda r: (r != NOT_A_REASON_ID, lead[r]))

    prev = {} if previous is None or previous.empty else \
        previous.groupby("reason_id")["message_count"].sum().astype(int).to_dict()
    snapshots = json.dumps(dict(snapshot_ids or {}), sort_keys=True)
    rows = []
    for rank, r_id in enumerate(ranked, start=1):
        topic_id = lead[r_id]
        count = int(counts.get(r_id, 0))
        score = float(scores.get(r_id, 0.0))
        share = score / total if total else 0.0
        mine = frame[frame["reason_id"] == r_id]
        sources = {str(k): int(v) for k, v in mine["source"].value_counts().sort_index().items()}
        examples = [str(m) for m in mine["message_id"].dropna().head(policy.examples)]
        before = prev.get(r_id) if previous is not None else None
        if previous is not None and before is None and r_id not in never:
            before = 0  # a reason absent from last week's election had no dissatisfied messages then
        age = None
        if born_weeks is not None and r_id in born_weeks:
            age = weeks_between(born_weeks[r_id], week) + 1
        elected, why = _verdict(topic_id, rank, count, share, total_count, before, age, policy,
                                not_a_reason=r_id == NOT_A_REASON_ID)
        if len(members[r_id]) > 1:
            why += f" (topics {', '.join(map(str, members[r_id]))})"
        rows.append({
            "week": week, "topic_id": topic_id, "reason_id": r_id,
            "label": labels.get(topic_id, OUTLIER_LABEL if topic_id == OUTLIER else f"topic {topic_id}"),
            "rank": rank, "message_count": count, "share": share, "elected": elected, "why": why,
            "model_version": model_version, "elected_at": elected_at, "policy_version": policy.policy_version,
            "score": score, "previous_count": before, "count_change": None if before is None else count - before,
            "sources": json.dumps(sources, sort_keys=True), "example_message_ids": examples,
            "snapshot_ids": snapshots,
        })
    result = pd.DataFrame(rows, columns=COLUMNS)
    return result.astype({"topic_id": "int32", "rank": "int32", "message_count": "int64", "share": "float64",
                          "elected": "bool", "score": "float64", "previous_count": "Int64", "count_change": "Int64"})


def _verdict(topic_id: int, rank: int, count: int, share: float, total: int, before: int | None, age: int | None,
             policy: ElectionPolicy, not_a_reason: bool = False) -> tuple[bool, str]:
    stats = f"{count} of {total} dissatisfied messages ({share:.1%})"
    if topic_id == OUTLIER:
        return False, f"not elected: outliers (no topic) are never elected; {stats}"
    if not_a_reason:
        return False, f"not elected: topics of mostly satisfied messages are not a reason; {stats}"
    if rank > policy.top_k:
        return False, f"not elected: rank {rank} is beyond the top {policy.top_k}; {stats}"
    if count < policy.min_count:
        return False, f"not elected: {count} dissatisfied messages, fewer than the minimum {policy.min_count}"
    if share < policy.min_share:
        return False, f"not elected: {share:.1%} of dissatisfied messages, below the minimum {policy.min_share:.0%}"
    if policy.min_growth is not None:
        needed = (before or 0) * (1 + policy.min_growth)
        if count < needed:
            return False, (f"not elected: {count} dissatisfied messages vs {before} last week, below the growth "
                           f"rule (+{policy.min_growth:.0%} needs {needed:.0f})")
    if policy.min_age_weeks is not None and age is not None and age < policy.min_age_weeks:
        return False, (f"not elected: the reason is {age} week(s) old, younger than the persistence rule "
                       f"({policy.min_age_weeks} weeks)")
    trend = "" if before is None else f"; {before} last week ({count - before:+d})"
    return True, f"elected: rank {rank} of the top {policy.top_k}, {stats}{trend}"
