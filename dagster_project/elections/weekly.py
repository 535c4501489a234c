"""One week's election end to end, as plain functions (the Dagster asset is a shell over these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from pyiceberg.expressions import EqualTo

from dagster_project.elections.plots import election_chart, topics_over_time_chart
from dagster_project.elections.policy import ElectionPolicy, elect
from dagster_project.topics.weekly import write_week
from lake import catalog as lake_catalog
from lake.schemas import ML_ELECTIONS
from lake.settings import Settings


@dataclass(frozen=True)
class ElectionOutcome:
    week: str
    model_version: str
    elections: pd.DataFrame  # the week's rows of ml.elections, by rank
    history: pd.DataFrame  # every week's rows of ml.elections, this one included
    election_png: Path
    over_time_png: Path


def run_election(settings: Settings, week: str, policy: ElectionPolicy = ElectionPolicy(),
                 now: datetime | None = None) -> ElectionOutcome:
    """Elect from the week's ml.message_topics and ml.topics, replace the week's ml.elections rows, plot."""
    cat = lake_catalog.load(settings)
    week_filter = EqualTo("week", week)
    message_topics = lake_catalog.read(cat, "ml.message_topics", row_filter=week_filter,
                                       selected_fields=("topic_id", "dissatisfied", "model_version")).to_pandas()
    topics = lake_catalog.read(cat, "ml.topics", row_filter=week_filter,
                               selected_fields=("topic_id", "label", "model_version")).to_pandas()
    versions = set(message_topics["model_version"]) | set(topics["model_version"])
    if len(versions) != 1:
        raise ValueError(f"{week}: expected the message topics of one model, found versions {sorted(versions)}; "
                         "materialize ml/topic_model for this week first")
    version = versions.pop()
    labels = dict(zip(topics["topic_id"].astype(int), topics["label"]))
    elections = elect(message_topics, labels, policy, week, version, elected_at=now)
    write_week(settings, ML_ELECTIONS.identifier, elections, week)

    history = lake_catalog.read(cat, ML_ELECTIONS.identifier).to_pandas()
    out = settings.plots_dir / "elections" / week
    return ElectionOutcome(week=week, model_version=version, elections=elections, history=history,
                           election_png=election_chart(elections, out / "election.png"),
                           over_time_png=topics_over_time_chart(history, out / "topics_over_time.png"))
