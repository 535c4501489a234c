"""Step 3 of a week: the election and its promotion gates, as plain functions (the Dagster asset is a shell)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo

from lake import catalog as lake_catalog
from lake.schemas import ML_ELECTIONS, ML_REASON_EVENTS
from lake.settings import Settings
from lake.weeks import shift_week
from reasons.election.elect import MixedModelsError, covered_share, elect_stored
from reasons.election.plots import election_chart, topics_over_time_chart
from reasons.election.policy import ElectionPolicy, PromotionGates, load_policy
from reasons.election.weekly_report import NoElectionError, Report, build_report, write_report
from reasons.marts import MartNotBuiltError, read_week_messages
from reasons.topics.params import OUTLIER
from reasons.weekly.tables import read_at_snapshot, write_week


@dataclass(frozen=True)
class ElectionOutcome:
    week: str
    model_version: str
    elections: pd.DataFrame  # the week's rows of ml.elections, by rank
    history: pd.DataFrame  # every week's rows of ml.elections, this one included
    election_png: Path
    over_time_png: Path
    snapshot_ids: dict  # table -> Iceberg snapshot id read (None: table missing or empty)
    report: Report
    report_paths: tuple[Path, Path]  # <home>/reports/<week>.md, .html


def run_election(
    settings: Settings, week: str, policy: ElectionPolicy | None = None, now: datetime | None = None
) -> ElectionOutcome:
    """Elect from the week's ml.message_topics and ml.topics (registry reason ids), against last week's
    election; replace the week's ml.elections rows, plot."""
    policy = policy or load_policy()[0]
    cat = lake_catalog.load(settings)
    week_filter = EqualTo("week", week)
    message_topics, mt_snap = read_at_snapshot(
        cat,
        "ml.message_topics",
        week_filter,
        ("message_id", "source", "topic_id", "reason_id", "dissatisfied", "model_version"),
    )
    topics, t_snap = read_at_snapshot(
        cat, "ml.topics", week_filter, ("topic_id", "reason_id", "label", "model_version")
    )
    previous, e_snap = read_at_snapshot(
        cat, ML_ELECTIONS.identifier, EqualTo("week", shift_week(week, -1)), ("reason_id", "message_count")
    )
    reasons, r_snap = read_at_snapshot(cat, "ml.reasons", week_filter, ("reason_id", "born_week"))
    snapshots = {"ml.message_topics": mt_snap, "ml.topics": t_snap, "ml.elections": e_snap, "ml.reasons": r_snap}
    try:
        version, elections = elect_stored(
            message_topics,
            topics,
            policy,
            week,
            previous=previous if e_snap is not None else None,
            born_weeks=dict(zip(reasons["reason_id"], reasons["born_week"])),
            elected_at=now,
            snapshot_ids=snapshots,
        )
    except MixedModelsError as exc:
        raise ValueError(f"{exc}; materialize ml/topic_model for this week first") from None
    write_week(settings, ML_ELECTIONS.identifier, elections, week)

    history = lake_catalog.read(cat, ML_ELECTIONS.identifier).to_pandas()
    out = settings.plots_dir / "elections" / week
    election_png = election_chart(elections, out / "election.png")
    over_time_png = topics_over_time_chart(history, out / "topics_over_time.png", until_week=week)
    report = build_report(
        elections,
        example_texts(settings, week),
        {"This week": election_png, "Over time": over_time_png},
        quiet_reasons(cat, week),
    )
    return ElectionOutcome(
        week=week,
        model_version=version,
        elections=elections,
        history=history,
        election_png=election_png,
        over_time_png=over_time_png,
        snapshot_ids=snapshots,
        report=report,
        report_paths=write_report(report, settings.reports_dir),
    )


def example_texts(settings: Settings, week: str) -> dict[str, str]:
    """Message id → redacted text of the week's messages (the dbt mart); empty while it is not built."""
    try:
        frame = read_week_messages(settings, week)
    except MartNotBuiltError:
        return {}
    return dict(zip(frame["message_id"], frame["text"]))


def quiet_reasons(cat: Catalog, week: str) -> set[str]:
    """The reasons the registry found too loose to alert on in ``week`` (its ``quiet`` events)."""
    events = lake_catalog.read(cat, ML_REASON_EVENTS.identifier, row_filter=EqualTo("week", week)).to_pandas()
    return {str(r) for ids in events.loc[events["event"] == "quiet", "reason_ids"] for r in ids}


def week_report(settings: Settings, week: str) -> Report:
    """The report of a week already elected (``reasonlake report``), rebuilt from ``ml.elections``."""
    cat = lake_catalog.load(settings)
    elections = lake_catalog.read(cat, ML_ELECTIONS.identifier, row_filter=EqualTo("week", week)).to_pandas()
    if elections.empty:
        raise NoElectionError(f"no election for {week} in ml.elections: run `reasonlake weekly --week {week}`")
    out = settings.plots_dir / "elections" / week
    charts = {"This week": out / "election.png", "Over time": out / "topics_over_time.png"}
    return build_report(elections, example_texts(settings, week), charts, quiet_reasons(cat, week))


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    value: float | None
    limit: float | None
    why: str


def evaluate_gates(settings: Settings, week: str, gates: PromotionGates | None = None) -> list[GateResult]:
    """The promotion gates of the week's election (shadow) before Feast serves it (live)."""
    cat = lake_catalog.load(settings)
    mt = lake_catalog.read(
        cat,
        "ml.message_topics",
        row_filter=EqualTo("week", week),
        selected_fields=("topic_id", "reason_id", "dissatisfied"),
    ).to_pandas()
    mappings = lake_catalog.read(
        cat, "ml.reason_mappings", row_filter=EqualTo("week", week), selected_fields=("reason_id", "match")
    ).to_pandas()
    registry_weeks = set(lake_catalog.read(cat, "ml.reasons", selected_fields=("week",)).column("week").to_pylist())
    return gate_results(mt, mappings, registry_weeks, week, gates or load_policy()[1])


def gate_results(
    mt: pd.DataFrame, mappings: pd.DataFrame, registry_weeks: set[str], week: str, gates: PromotionGates
) -> list[GateResult]:
    """The gates on the week's ``ml.message_topics`` rows (``topic_id``, ``reason_id``, ``dissatisfied``),
    its ``ml.reason_mappings`` rows (``reason_id``, ``match``) and the weeks ``ml.reasons`` holds."""
    out = []
    n = len(mt)
    outlier_share = float((mt["topic_id"] == OUTLIER).mean()) if n else 1.0
    limit = gates.max_outlier_share
    out.append(
        GateResult(
            "outlier_share",
            limit is None or outlier_share <= limit,
            outlier_share,
            limit,
            f"{outlier_share:.1%} of {n} messages are outliers (max {limit})",
        )
    )

    covered, unhappy = covered_share(mt)
    limit = gates.min_covered_share
    out.append(
        GateResult(
            "covered_share",
            limit is None or covered >= limit,
            covered,
            limit,
            f"{covered:.1%} of {unhappy} dissatisfied messages fall in a reason (min {limit})",
        )
    )

    first = not any(w < week for w in registry_weeks)  # ISO week strings sort chronologically
    born = set(mappings.loc[mappings["match"] == "born", "reason_id"])
    kept = mt[mt["topic_id"] != OUTLIER]
    new_share = float(kept["reason_id"].isin(born).mean()) if len(kept) else 0.0
    limit = gates.max_new_reason_share
    passed = first or limit is None or new_share <= limit
    why = (
        "the registry's first week: every reason is new"
        if first
        else f"{new_share:.1%} of non-outlier messages are in {len(born)} reason(s) born this week (max {limit})"
    )
    out.append(GateResult("change_against_last_week", passed, new_share, limit, why))
    return out
