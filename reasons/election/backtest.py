"""Backtest an election policy: past weeks' elections recomputed under another policy, without refitting.

For each week, the election is recomputed by :func:`reasons.election.elect.elect` (the weekly graph's own) from
what the weekly run stored: the week's ``ml.message_topics`` and ``ml.topics`` (registry reason ids), the
registry's birth weeks (``ml.reasons``) and last week's stored election (``ml.elections``) — once under the new
policy and once under the live one — and the two are compared (:func:`diff_week`):

- **gained** / **dropped**: reasons elected under the new policy and not the live one, and the reverse;
- **rank changes**: reasons elected under both whose rank differs (only source weights move ranks);
- **would-be alerts**: the week's election is live during the following week, so its effect on alerts is
  counted on the following week's stored assignments: its ``ml.message_topics`` rows that are dissatisfied,
  not outliers, and whose reason is gained (alerts the new policy would add) or dropped (alerts it would
  remove). An upper bound: the alert job also needs the message surely dissatisfied and within its topic's
  core (``reasons.live.Verdict.alerts``), which the stored rows do not say. None when that week is not stored;
- **recorded**: ``alerts.alerts`` rows of kind alert raised on the week's election (any outcome), in all and
  on the reasons the new policy drops (those would not have been raised).

The recomputed live election is also compared with the stored one (``stored_mismatch``): they differ when
the week was elected under another policy (``stored_policy_version`` says which) or a run-time override.
Nothing is written. See docs/backtest.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo, In

from lake import catalog as lake_catalog
from lake.schemas import ALERTS, ML_ELECTIONS, ML_MESSAGE_TOPICS, ML_REASONS, ML_TOPICS
from lake.weeks import parse_week, shift_week, week_start
from reasons.election.elect import MixedModelsError, elect_stored
from reasons.election.policy import ElectionPolicy
from reasons.election.weekly_report import NoElectionError
from reasons.topics.params import OUTLIER

MESSAGE_FIELDS = ("message_id", "source", "topic_id", "reason_id", "dissatisfied", "model_version")
ELECTION_FIELDS = ("week", "reason_id", "label", "rank", "elected", "message_count", "policy_version")


class BacktestError(NoElectionError):
    """A week cannot be backtested: no election of it in ``ml.elections``, or no stored topics (a data error)."""


@dataclass(frozen=True)
class WeekInputs:
    """What the weekly run stored for one week, and what the comparison reads beside it."""

    week: str
    message_topics: pd.DataFrame  # the week's ml.message_topics rows (MESSAGE_FIELDS)
    topics: pd.DataFrame  # the week's ml.topics rows (topic_id, reason_id, label, model_version)
    previous: pd.DataFrame  # last week's stored ml.elections rows (reason_id, message_count)
    born_weeks: Mapping[str, str]  # reason id -> born_week (ml.reasons of the week)
    stored: pd.DataFrame | None  # the week's stored ml.elections rows (ELECTION_FIELDS); None: not compared
    following: pd.DataFrame | None = None  # the next week's ml.message_topics rows; None: not stored
    recorded: pd.DataFrame | None = None  # alerts.alerts rows of this week's election (reason_id, kind)


@dataclass(frozen=True)
class ReasonChange:
    reason_id: str
    label: str
    live_rank: int | None  # None: not a candidate under that policy
    new_rank: int | None
    alerts: int | None = None  # the following week's would-be alerts on it (None: that week is not stored)
    recorded: int = 0  # alerts.alerts rows raised on it by this week's election


@dataclass(frozen=True)
class WeekDiff:
    week: str
    model_version: str
    stored_policy_version: str
    elected_live: list[str]  # reason ids, by rank
    elected_new: list[str]
    gained: list[ReasonChange] = field(default_factory=list)
    dropped: list[ReasonChange] = field(default_factory=list)
    rank_changes: list[ReasonChange] = field(default_factory=list)
    following_week: str | None = None  # the week the would-be alerts are counted on (None: not stored)
    alerts_gained: int | None = None
    alerts_lost: int | None = None
    recorded_alerts: int = 0
    recorded_on_dropped: int = 0
    stored_mismatch: list[str] = field(default_factory=list)  # elected in the stored xor the recomputed live

    @property
    def changed(self) -> bool:
        return bool(self.gained or self.dropped or self.rank_changes)


@dataclass(frozen=True)
class Backtest:
    live_policy: str  # policy_version
    new_policy: str
    weeks: list[WeekDiff]

    def summary(self) -> dict:
        weeks = self.weeks
        return {
            "weeks": len(weeks),
            "weeks_changed": sum(w.changed for w in weeks),
            "gained": sum(len(w.gained) for w in weeks),
            "dropped": sum(len(w.dropped) for w in weeks),
            "rank_changes": sum(len(w.rank_changes) for w in weeks),
            "alerts_gained": sum(w.alerts_gained or 0 for w in weeks),
            "alerts_lost": sum(w.alerts_lost or 0 for w in weeks),
            "recorded_on_dropped": sum(w.recorded_on_dropped for w in weeks),
            "weeks_stored_differently": sum(bool(w.stored_mismatch) for w in weeks),
        }

    def as_dict(self) -> dict:
        return {
            "live_policy": self.live_policy,
            "new_policy": self.new_policy,
            "weeks": [asdict(w) | {"changed": w.changed} for w in self.weeks],
            "summary": self.summary(),
        }


def recompute(inputs: WeekInputs, policy: ElectionPolicy) -> pd.DataFrame:
    """The week's ``ml.elections`` rows under ``policy``, by the weekly graph's :func:`elect` on its stored
    assignments (as :func:`reasons.weekly.election.run_election` calls it)."""
    mt, topics = inputs.message_topics, inputs.topics
    if mt.empty or topics.empty:
        raise BacktestError(
            f"no stored topics for {inputs.week} in ml.topics and ml.message_topics: "
            f"run `reasonlake weekly --week {inputs.week}`"
        )
    try:
        return elect_stored(mt, topics, policy, inputs.week, previous=inputs.previous, born_weeks=inputs.born_weeks)[1]
    except MixedModelsError as exc:
        raise BacktestError(f"{inputs.week}: the stored message topics hold several models {exc.versions}") from None


def backtest_week(inputs: WeekInputs, live: ElectionPolicy, new: ElectionPolicy) -> WeekDiff:
    """The differences between the week's elections under ``new`` and under ``live``."""
    return diff_week(
        inputs.week,
        recompute(inputs, live),
        recompute(inputs, new),
        following=inputs.following,
        following_week=shift_week(inputs.week, 1) if inputs.following is not None else None,
        recorded=inputs.recorded,
        stored=inputs.stored,
    )


def diff_week(
    week: str,
    live: pd.DataFrame,
    new: pd.DataFrame,
    *,
    following: pd.DataFrame | None = None,
    following_week: str | None = None,
    recorded: pd.DataFrame | None = None,
    stored: pd.DataFrame | None = None,
) -> WeekDiff:
    """Compare two elections of one week (``ml.elections`` rows: ``reason_id``, ``label``, ``rank``, ``elected``).

    ``following``: the next week's ``ml.message_topics`` rows (``reason_id``, ``topic_id``, ``dissatisfied``)
    the would-be alerts are counted on; ``recorded``: the ``alerts.alerts`` rows of this week's election
    (``reason_id``, ``kind``); ``stored``: the stored election, compared with ``live``.
    """
    live_elected, new_elected = _elected(live), _elected(new)
    rank_live, rank_new = _ranks(live), _ranks(new)
    labels = {**_labels(live), **_labels(new)}
    would_alert = _would_alert(following)
    raised = _raised(recorded)

    def change(r: str) -> ReasonChange:
        return ReasonChange(
            reason_id=r,
            label=labels.get(r, r),
            live_rank=rank_live.get(r),
            new_rank=rank_new.get(r),
            alerts=None if would_alert is None else would_alert.get(r, 0),
            recorded=raised.get(r, 0),
        )

    gained = [change(r) for r in new_elected if r not in live_elected]
    dropped = [change(r) for r in live_elected if r not in new_elected]
    moved = [change(r) for r in new_elected if r in live_elected and rank_live.get(r) != rank_new.get(r)]
    stored_elected = _elected(stored) if stored is not None else live_elected
    version = str(live["model_version"].iloc[0]) if "model_version" in live and len(live) else ""
    stored_policy = (
        str(stored["policy_version"].iloc[0])
        if stored is not None and "policy_version" in stored and len(stored)
        else ""
    )
    return WeekDiff(
        week=week,
        model_version=version,
        stored_policy_version=stored_policy,
        elected_live=live_elected,
        elected_new=new_elected,
        gained=gained,
        dropped=dropped,
        rank_changes=moved,
        following_week=following_week if would_alert is not None else None,
        alerts_gained=None if would_alert is None else sum(c.alerts or 0 for c in gained),
        alerts_lost=None if would_alert is None else sum(c.alerts or 0 for c in dropped),
        recorded_alerts=sum(raised.values()),
        recorded_on_dropped=sum(c.recorded for c in dropped),
        stored_mismatch=sorted(set(stored_elected) ^ set(live_elected)),
    )


def _elected(frame: pd.DataFrame) -> list[str]:
    rows = frame[frame["elected"].astype(bool)].sort_values("rank")
    return [str(r) for r in rows["reason_id"]]


def _ranks(frame: pd.DataFrame) -> dict[str, int]:
    return {str(r): int(k) for r, k in zip(frame["reason_id"], frame["rank"])}


def _labels(frame: pd.DataFrame) -> dict[str, str]:
    return {str(r): str(label) for r, label in zip(frame["reason_id"], frame["label"])}


def _would_alert(following: pd.DataFrame | None) -> dict[str, int] | None:
    """Per reason id, the dissatisfied non-outlier messages of the following week's stored assignments."""
    if following is None:
        return None
    unhappy = following[following["dissatisfied"].astype(bool) & (following["topic_id"].astype(int) != OUTLIER)]
    return {str(k): int(v) for k, v in unhappy["reason_id"].value_counts().items()}


def _raised(recorded: pd.DataFrame | None) -> dict[str, int]:
    """Per reason id, the alert rows (not digests) recorded in ``alerts.alerts``."""
    if recorded is None or recorded.empty:
        return {}
    alerts = recorded[recorded["kind"].fillna("alert") != "digest"]
    return {str(k): int(v) for k, v in alerts["reason_id"].value_counts().items()}


def select_weeks(spec: str | None, available: Sequence[str]) -> list[str]:
    """The weeks ``--weeks`` names among ``available`` (the weeks ``ml.elections`` holds).

    ``spec``: None (every available week), one week ``YYYY-Www`` (it must be available) or a range ``A:B``
    (the available weeks from A to B, both included; at least one). A malformed week or a range that runs
    backwards is a :class:`ValueError`; a week without an election, a :class:`BacktestError`.
    """
    have = sorted(set(available))
    known = f"ml.elections holds {', '.join(have)}" if have else "ml.elections holds no week yet"
    if spec is None:
        if not have:
            raise BacktestError(f"no election to backtest: {known}; run `reasonlake weekly` first")
        return have
    first, sep, last = spec.partition(":")
    first, last = first.strip(), (last.strip() if sep else first.strip())
    for w in (first, last):
        parse_week(w)
    if week_start(first) > week_start(last):
        raise ValueError(f"the range {spec!r} runs backwards: write the earlier week first")
    chosen = [w for w in have if week_start(first) <= week_start(w) <= week_start(last)]
    if not chosen:
        what = f"no election for {first}" if not sep else f"no election between {first} and {last}"
        raise BacktestError(f"{what}: {known}")
    return chosen


def elected_weeks(cat: Catalog) -> list[str]:
    """The weeks ``ml.elections`` holds, oldest first."""
    weeks = lake_catalog.read(cat, ML_ELECTIONS.identifier, selected_fields=("week",)).column("week").to_pylist()
    return sorted(set(weeks), key=week_start)


def load_inputs(cat: Catalog, weeks: Sequence[str]) -> list[WeekInputs]:
    """What :func:`backtest_week` reads for each of ``weeks``, from the stored tables (read only)."""
    wanted = sorted({w for week in weeks for w in (shift_week(week, -1), week)})
    elections = lake_catalog.read(
        cat, ML_ELECTIONS.identifier, row_filter=In("week", wanted), selected_fields=ELECTION_FIELDS
    ).to_pandas()
    recorded = lake_catalog.read(
        cat, ALERTS.identifier, row_filter=In("week", list(weeks)), selected_fields=("week", "reason_id", "kind")
    ).to_pandas()
    cache: dict[str, pd.DataFrame] = {}

    def message_topics(week: str) -> pd.DataFrame:
        if week not in cache:
            cache[week] = lake_catalog.read(
                cat, ML_MESSAGE_TOPICS.identifier, row_filter=EqualTo("week", week), selected_fields=MESSAGE_FIELDS
            ).to_pandas()
        return cache[week]

    out = []
    for week in weeks:
        stored = elections[elections["week"] == week]
        if stored.empty:
            raise BacktestError(f"no election for {week} in ml.elections: run `reasonlake weekly --week {week}`")
        topics = lake_catalog.read(
            cat,
            ML_TOPICS.identifier,
            row_filter=EqualTo("week", week),
            selected_fields=("topic_id", "reason_id", "label", "model_version"),
        ).to_pandas()
        reasons = lake_catalog.read(
            cat, ML_REASONS.identifier, row_filter=EqualTo("week", week), selected_fields=("reason_id", "born_week")
        ).to_pandas()
        following = message_topics(shift_week(week, 1))
        out.append(
            WeekInputs(
                week=week,
                message_topics=message_topics(week),
                topics=topics,
                previous=elections.loc[elections["week"] == shift_week(week, -1), ["reason_id", "message_count"]],
                born_weeks=dict(zip(reasons["reason_id"], reasons["born_week"])),
                stored=stored,
                following=None if following.empty else following,
                recorded=recorded[recorded["week"] == week],
            )
        )
    return out


def run_backtest(cat: Catalog, weeks: Sequence[str], live: ElectionPolicy, new: ElectionPolicy) -> Backtest:
    """:func:`backtest_week` of every week of ``weeks`` (see :func:`select_weeks`) on the stored tables."""
    diffs = [backtest_week(inputs, live, new) for inputs in load_inputs(cat, weeks)]
    return Backtest(live_policy=live.policy_version, new_policy=new.policy_version, weeks=diffs)
