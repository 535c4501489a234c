"""The election: rank every reason of the week and elect the top ones under the policy. Pure.

The rules and their order are in :mod:`reasons.election.policy`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from reasons.election.policy import ElectionPolicy
from reasons.registry.matching import weeks_between
from reasons.registry.model import NOT_A_REASON_ID, OUTLIER_REASON_ID
from reasons.topics.assign import reason_id as provisional_reason_id
from reasons.topics.params import OUTLIER, OUTLIER_LABEL

COLUMNS = [
    "week",
    "topic_id",
    "reason_id",
    "label",
    "rank",
    "message_count",
    "share",
    "elected",
    "why",
    "model_version",
    "elected_at",
    "policy_version",
    "score",
    "previous_count",
    "count_change",
    "sources",
    "example_message_ids",
    "snapshot_ids",
]


def elect(
    message_topics: pd.DataFrame,
    labels: Mapping[int, str],
    policy: ElectionPolicy,
    week: str,
    model_version: str,
    elected_at: datetime | None = None,
    *,
    reason_ids: Mapping[int, str] | None = None,
    previous: pd.DataFrame | None = None,
    born_weeks: Mapping[str, str] | None = None,
    snapshot_ids: Mapping[str, int | None] | None = None,
) -> pd.DataFrame:
    """Rows of ``ml.elections`` for one week, ordered by rank.

    ``message_topics`` needs ``topic_id`` and ``dissatisfied`` (one row per message); ``source`` and
    ``message_id`` when present feed the weights, the contributing sources and the examples.
    ``labels`` maps every topic id of the model to its label (topics without dissatisfied messages
    are candidates with a count of 0). ``reason_ids`` maps topic ids to registry reason ids (default:
    the provisional ``<model_version>/<topic_id>``); ``previous`` holds last week's election rows
    (``reason_id``, ``message_count``); ``born_weeks`` the registry's birth week per reason id;
    ``snapshot_ids`` the Iceberg snapshots the election read.
    """
    frame = _dissatisfied(message_topics, policy)
    known = reason_ids or {}
    reason_of = {
        t: known.get(t) or provisional_reason_id(model_version, t)
        for t in sorted({int(t) for t in labels} | set(frame["topic_id"]))
    }
    frame["reason_id"] = frame["topic_id"].map(reason_of)
    tally = _Tally.of(frame, reason_of)
    before_of = (
        None
        if previous is None
        else {}
        if previous.empty
        else previous.groupby("reason_id")["message_count"].sum().astype(int).to_dict()
    )
    common = {
        "week": week,
        "model_version": model_version,
        "elected_at": elected_at or datetime.now(UTC),
        "policy_version": policy.policy_version,
        "snapshot_ids": json.dumps(dict(snapshot_ids or {}), sort_keys=True),
    }
    rows = []
    for rank, r_id in enumerate(tally.ranked(), start=1):
        before = None if before_of is None else before_of.get(r_id, None if r_id in tally.never else 0)
        # (a reason absent from last week's election had no dissatisfied messages then: 0)
        age = weeks_between(born_weeks[r_id], week) + 1 if born_weeks and r_id in born_weeks else None
        rows.append({**common, **_candidate_row(frame, tally, r_id, rank, labels, before, age, policy)})
    return pd.DataFrame(rows, columns=COLUMNS).astype(
        {
            "topic_id": "int32",
            "rank": "int32",
            "message_count": "int64",
            "share": "float64",
            "elected": "bool",
            "score": "float64",
            "previous_count": "Int64",
            "count_change": "Int64",
        }
    )


def _dissatisfied(message_topics: pd.DataFrame, policy: ElectionPolicy) -> pd.DataFrame:
    """The dissatisfied messages with ``source``, ``message_id`` and their source ``weight``."""
    frame = message_topics.loc[message_topics["dissatisfied"].astype(bool)].copy()
    frame["topic_id"] = frame["topic_id"].astype(int)
    if "source" not in frame:
        frame["source"] = "unknown"
    if "message_id" not in frame:
        frame["message_id"] = None
    frame["weight"] = [policy.weight(s) for s in frame["source"].astype(str)]
    return frame


@dataclass(frozen=True)
class _Tally:
    """The week's dissatisfied messages counted per reason candidate."""

    members: dict[str, list[int]]  # reason id -> its topic ids
    lead: dict[str, int]  # reason id -> its topic with the most dissatisfied messages (ties: lower id)
    counts: dict[str, int]
    scores: dict[str, float]  # source-weighted counts
    total: float  # of all scores (outliers and not_a_reason included)
    total_count: int
    never: frozenset[str]  # candidates that are never elected (outliers, not_a_reason)

    @classmethod
    def of(cls, frame: pd.DataFrame, reason_of: Mapping[int, str]) -> _Tally:
        topic_counts = frame["topic_id"].value_counts().to_dict()
        members: dict[str, list[int]] = {}
        for t, r in reason_of.items():
            members.setdefault(r, []).append(t)
        return cls(
            members=members,
            lead={r: min(ts, key=lambda t: (-topic_counts.get(t, 0), t)) for r, ts in members.items()},
            counts={str(k): int(v) for k, v in frame["reason_id"].value_counts().items()},
            scores={str(k): float(v) for k, v in frame.groupby("reason_id")["weight"].sum().items()},
            total=float(frame["weight"].sum()),
            total_count=len(frame),
            never=frozenset(r for r, ts in members.items() if OUTLIER in ts or r == NOT_A_REASON_ID),
        )

    def ranked(self) -> list[str]:
        """Reasons by score (ties: more messages, then lower lead topic id); the never-elected last."""
        ranked = sorted(
            set(self.members) - self.never,
            key=lambda r: (-self.scores.get(r, 0.0), -self.counts.get(r, 0), self.lead[r]),
        )
        return ranked + sorted(
            (r for r in self.never if self.counts.get(r)), key=lambda r: (r != NOT_A_REASON_ID, self.lead[r])
        )


def _candidate_row(
    frame: pd.DataFrame,
    tally: _Tally,
    r_id: str,
    rank: int,
    labels: Mapping[int, str],
    before: int | None,
    age: int | None,
    policy: ElectionPolicy,
) -> dict:
    topic_id = tally.lead[r_id]
    count = tally.counts.get(r_id, 0)
    score = tally.scores.get(r_id, 0.0)
    share = score / tally.total if tally.total else 0.0
    mine = frame[frame["reason_id"] == r_id]
    elected, why = _verdict(
        topic_id, rank, count, share, tally.total_count, before, age, policy, not_a_reason=r_id == NOT_A_REASON_ID
    )
    if len(tally.members[r_id]) > 1:
        why += f" (topics {', '.join(map(str, tally.members[r_id]))})"
    return {
        "topic_id": topic_id,
        "reason_id": r_id,
        "label": labels.get(topic_id, OUTLIER_LABEL if topic_id == OUTLIER else f"topic {topic_id}"),
        "rank": rank,
        "message_count": count,
        "share": share,
        "elected": elected,
        "why": why,
        "score": score,
        "previous_count": before,
        "count_change": None if before is None else count - before,
        "sources": json.dumps(
            {str(k): int(v) for k, v in mine["source"].value_counts().sort_index().items()}, sort_keys=True
        ),
        "example_message_ids": [str(m) for m in mine["message_id"].dropna().head(policy.examples)],
    }


def _verdict(
    topic_id: int,
    rank: int,
    count: int,
    share: float,
    total: int,
    before: int | None,
    age: int | None,
    policy: ElectionPolicy,
    not_a_reason: bool = False,
) -> tuple[bool, str]:
    stats = f"{count} of {total} dissatisfied messages ({share:.1%})"
    if topic_id == OUTLIER:
        return False, f"not elected: outliers (no topic) are never elected; {stats}"
    if not_a_reason:
        what = "mostly satisfied, a catch-all or a little of everything: ml.reason_events says which"
        return False, f"not elected: topics the registry found no reason ({what}) are never elected; {stats}"
    if rank > policy.top_k:
        return False, f"not elected: rank {rank} is beyond the top {policy.top_k}; {stats}"
    if count < policy.min_count:
        return False, f"not elected: {count} dissatisfied messages, fewer than the minimum {policy.min_count}"
    if share < policy.min_share:
        return False, f"not elected: {share:.1%} of dissatisfied messages, below the minimum {policy.min_share:.0%}"
    if policy.min_growth is not None:
        needed = (before or 0) * (1 + policy.min_growth)
        if count < needed:
            return False, (
                f"not elected: {count} dissatisfied messages vs {before} last week, below the growth "
                f"rule (+{policy.min_growth:.0%} needs {needed:.0f})"
            )
    if policy.min_age_weeks is not None and age is not None and age < policy.min_age_weeks:
        return False, (
            f"not elected: the reason is {age} week(s) old, younger than the persistence rule "
            f"({policy.min_age_weeks} weeks)"
        )
    trend = "" if before is None else f"; {before} last week ({count - before:+d})"
    return True, f"elected: rank {rank} of the top {policy.top_k}, {stats}{trend}"


NOT_REASONS = (OUTLIER_REASON_ID, NOT_A_REASON_ID)  # reason ids of messages in no reason


def covered_share(mt: pd.DataFrame) -> tuple[float, int]:
    """The share of the dissatisfied messages of ``mt`` (``topic_id``, ``reason_id``, ``dissatisfied``) that
    fall in a reason (not an outlier, nor in a topic the registry refused, a catch-all or a little of
    everything, or found mostly satisfied; 1.0 when none is dissatisfied), and how many are dissatisfied."""
    unhappy = mt[mt["dissatisfied"].astype(bool)]
    in_reason = (
        (unhappy["topic_id"] != OUTLIER) & ~unhappy["reason_id"].isin(NOT_REASONS) & unhappy["reason_id"].notna()
    )
    return (float(in_reason.mean()) if len(unhappy) else 1.0), len(unhappy)


class MixedModelsError(ValueError):
    """The stored topics of a week come from several models (or none): no election can be computed."""

    def __init__(self, week: str, versions: list[str]) -> None:
        super().__init__(f"{week}: expected the message topics of one model, found versions {versions}")
        self.week, self.versions = week, versions


def elect_stored(
    message_topics: pd.DataFrame,
    topics: pd.DataFrame,
    policy: ElectionPolicy,
    week: str,
    *,
    previous: pd.DataFrame | None,
    born_weeks: Mapping[str, str],
    elected_at: datetime | None = None,
    snapshot_ids: Mapping[str, int | None] | None = None,
) -> tuple[str, pd.DataFrame]:
    """(model version, :func:`elect`'s rows) from what a weekly run stored for ``week``: its
    ``ml.message_topics`` rows and its ``ml.topics`` rows (topic id → label and registry reason id), all of
    one model. The weekly graph (``reasons.weekly.election``) and the backtest (``reasons.election.backtest``)
    both elect this way."""
    versions = set(message_topics["model_version"]) | set(topics["model_version"])
    if len(versions) != 1:
        raise MixedModelsError(week, sorted(versions))
    version = versions.pop()
    topic_ids = topics["topic_id"].astype(int)
    return version, elect(
        message_topics,
        dict(zip(topic_ids, topics["label"])),
        policy,
        week,
        version,
        elected_at,
        reason_ids=dict(zip(topic_ids, topics["reason_id"])),
        previous=previous,
        born_weeks=dict(born_weeks),
        snapshot_ids=snapshot_ids,
    )
