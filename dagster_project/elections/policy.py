"""The weekly election of the top reasons customers are unhappy. Pure, no Dagster.

Every registry reason of the week's model is a candidate: the messages of all its topics (the
registry groups close sub-topics of one issue under one ``reason_id``; without registry ids every
topic is its own candidate). A candidate's ``topic_id`` is its topic with the most dissatisfied
messages. Its score is its dissatisfied messages weighted by source (``source_weights``, 1.0 when
unlisted); ``share`` is its part of the week's total score (outliers and ``not_a_reason`` included in
the total). Candidates are ranked by score (ties: more messages, then lower topic id). A candidate is
elected when ALL of these hold, checked in this order (the first failing rule is the ``why``):

1. it is a reason: the outlier topic (-1) and the topics of mostly satisfied messages
   (``not_a_reason``) are listed last for the audit, never elected;
2. it ranks within ``top_k``;
3. at least ``min_count`` dissatisfied messages;
4. at least ``min_share`` of the week's score;
5. optional growth: ``min_growth`` set → count ≥ last week's count × (1 + min_growth)
   (a reason absent last week grows from 0);
6. optional persistence: ``min_age_weeks`` set → the reason was born at least that many weeks
   before (counting this week), so a one-week blip of a brand-new reason waits a week.

The policy lives in versioned configuration (``policy.yaml`` beside this module, key
``policy_version``); every election row records the version it was decided under.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import pandas as pd

from dagster_project.topics.model import OUTLIER, OUTLIER_LABEL, reason_id as provisional_reason_id
from dagster_project.topics.registry import NOT_A_REASON_ID

COLUMNS = ["week", "topic_id", "reason_id", "label", "rank", "message_count", "share", "elected", "why",
           "model_version", "elected_at", "policy_version", "score", "previous_count", "count_change", "sources",
           "example_message_ids", "snapshot_ids"]
POLICY_FILE = Path(__file__).with_name("policy.yaml")


@dataclass(frozen=True)
class ElectionPolicy:
    top_k: int = 3
    min_count: int = 5
    min_share: float = 0.05
    min_growth: float | None = None
    min_age_weeks: int | None = None
    source_weights: tuple[tuple[str, float], ...] = ()
    examples: int = 3  # example message ids kept per candidate
    policy_version: str = "builtin"

    def weight(self, source: str) -> float:
        return dict(self.source_weights).get(source, 1.0)


@dataclass(frozen=True)
class PromotionGates:
    """Blocking checks between the election (shadow) and Feast (live). None switches a gate off."""

    max_outlier_share: float | None = 0.25  # of the week's messages
    min_covered_share: float | None = 0.5  # of dissatisfied messages in a non-outlier reason
    max_new_reason_share: float | None = 0.6  # of non-outlier messages in reasons born this week (not on week 1)
    min_stream_batch_agreement: float | None = 0.9  # of non-outlier messages (a warning check, not a gate)


def load_policy(path: Path | str | None = None) -> tuple[ElectionPolicy, PromotionGates]:
    """The policy and gates of a YAML file (default: ``policy.yaml`` beside this module)."""
    import yaml

    path = Path(path) if path is not None else POLICY_FILE
    data = yaml.safe_load(Path(path).read_text()) or {}
    if "policy_version" not in data:
        raise ValueError(f"{path}: policy_version is required")
    gates = data.pop("gates", None) or {}
    weights = data.pop("source_weights", None) or {}
    known = {f.name for f in fields(ElectionPolicy)}
    unknown = set(data) - known
    if unknown or set(gates) - {f.name for f in fields(PromotionGates)}:
        raise ValueError(f"{path}: unknown keys {sorted(unknown | (set(gates) - {f.name for f in fields(PromotionGates)}))}")
    data["policy_version"] = str(data["policy_version"])
    policy = ElectionPolicy(**data, source_weights=tuple(sorted((str(k), float(v)) for k, v in weights.items())))
    return policy, PromotionGates(**gates)


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
            from dagster_project.topics.registry import weeks_between
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


def top_reasons_markdown(elections: pd.DataFrame) -> str:
    """The elected reasons as a markdown table (for Dagster metadata and the CLI)."""
    elected = elections[elections["elected"]].sort_values("rank")
    if elected.empty:
        return "_no reason elected this week_"
    lines = ["| rank | reason | dissatisfied | share | reason_id |", "|---:|---|---:|---:|---|"]
    lines += [f"| {r.rank} | {r.label} | {r.message_count} | {r.share:.1%} | `{r.reason_id}` |"
              for r in elected.itertuples()]
    return "\n".join(lines)


def explanation_markdown(elections: pd.DataFrame, max_rows: int = 12) -> str:
    """Every candidate (up to ``max_rows``) with its count, change, sources, examples and verdict."""
    if elections.empty:
        return "_no candidates_"
    lines = ["| rank | reason | label | count | share | last week | change | sources | examples | verdict |",
             "|---:|---|---|---:|---:|---:|---:|---|---|---|"]
    for r in elections.sort_values("rank").head(max_rows).itertuples():
        prev = "" if pd.isna(r.previous_count) else int(r.previous_count)
        change = "" if pd.isna(r.count_change) else f"{int(r.count_change):+d}"
        sources = ", ".join(f"{k} {v}" for k, v in json.loads(r.sources or "{}").items())
        examples = ", ".join(f"`{m}`" for m in (list(r.example_message_ids) if r.example_message_ids is not None else []))
        lines.append(f"| {r.rank} | `{r.reason_id}` | {r.label} | {r.message_count} | {r.share:.1%} | {prev} | "
                     f"{change} | {sources} | {examples} | {r.why} |")
    return "\n".join(lines)
