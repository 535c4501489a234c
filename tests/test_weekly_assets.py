"""The weekly topic → election → Feast assets through Dagster, on realistic synthetic feedback.

The dbt mart reader is replaced by the generator's messages of the week (the columns of
``dagster_project.cleaning.marts.read_week_messages``).
"""

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from dagster import materialize
from pyiceberg.expressions import EqualTo

from dagster_project.elections.definitions import defs as elections_defs
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving.definitions import defs as serving_defs
from dagster_project.topics import assets as topic_assets
from dagster_project.topics.definitions import defs as topics_defs
from dagster_project.topics.model import TopicArtifact, current_artifact_path
from flink.synthetic import ISSUES, SyntheticSpec, generate, topic_issues
from lake import catalog
from lake.settings import Settings
from lake.weeks import week_of, week_to_partition_key

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
SURGE = "hidden_fees"


@pytest.fixture(scope="module")
def feedback():
    records, truth = generate(SyntheticSpec(messages=900, weeks=2, seed=5, surge_issue=SURGE, surge_week_index=1,
                                            invalid_rate=0.0, duplicate_rate=0.0, now=NOW))
    rows = [json.loads(r.value) for r in records if r.kind not in ("invalid", "duplicate")]
    frame = pd.DataFrame({
        "message_id": [r["message_id"] for r in rows],
        "source": [r["source"] for r in rows],
        "text": [r["text"] for r in rows],
        "created_at": pd.to_datetime([r["created_at"] for r in rows], utc=True, format="ISO8601"),
        "rating": pd.array([r.get("rating") for r in rows], dtype="Int64"),
    })
    frame["week"] = [week_of(ts) for ts in frame["created_at"]]
    return frame, truth


def _materialize(settings, week):
    all_defs = [d for defs in (topics_defs, elections_defs, serving_defs)
                for d in (*defs.assets, *defs.asset_checks)]
    return materialize(all_defs, partition_key=week_to_partition_key(week),
                       resources={"reasonlake": ReasonlakeResource(home=str(settings.home))}, raise_on_error=True)


def test_weekly_graph_elects_the_surge_and_serves_it(tmp_path, monkeypatch, feedback):
    frame, truth = feedback
    settings = Settings(home=tmp_path)
    monkeypatch.setattr(topic_assets, "read_week_messages",
                        lambda s, week: frame[frame["week"] == week].drop(columns="week").reset_index(drop=True))
    calm, surge = truth.weeks
    for week in (calm, surge):
        result = _materialize(settings, week)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"has_topics": True, "outlier_share_below_max": True, "elected_when_dissatisfied": True,
                          "election_is_consistent": True, "online_matches_election": True}

    cat = catalog.load(settings)
    in_week = EqualTo("week", surge)
    message_topics = catalog.read(cat, "ml.message_topics", row_filter=in_week).to_pylist()
    assert len(message_topics) == (frame["week"] == surge).sum()
    elections = sorted(catalog.read(cat, "ml.elections", row_filter=in_week).to_pylist(), key=lambda r: r["rank"])
    issue_of_topic = topic_issues(truth.labels, message_topics)
    elected = [issue_of_topic[r["topic_id"]] for r in elections if r["elected"]]
    assert elected[0] == SURGE, elections
    assert set(elected) <= set(ISSUES)  # praise and questions are not dissatisfied: never elected

    # model version and artefact agree across the tables, the pointer and the online store
    version = elections[0]["model_version"]
    assert {r["model_version"] for r in message_topics} == {version}
    artifact = TopicArtifact.load(current_artifact_path(settings))
    assert (artifact.week, artifact.model_version) == (surge, version)
    text = frame.loc[frame["message_id"] == message_topics[0]["message_id"], "text"].item()
    assert artifact.assign([text])[0].topic_id == message_topics[0]["topic_id"]

    from feature_repo.online import ReasonLookup

    online = ReasonLookup(settings).get([r["reason_id"] for r in elections])
    assert [online[r["reason_id"]]["elected"] for r in elections] == [r["elected"] for r in elections]
    assert (settings.plots_dir / "elections" / surge / "election.png").stat().st_size > 0
    assert (settings.plots_dir / "elections" / surge / "topics_over_time.png").stat().st_size > 0

    # re-materializing a week replaces its rows
    before = catalog.read(cat, "ml.elections").num_rows
    assert _materialize(settings, surge).success
    assert catalog.read(catalog.load(settings), "ml.elections").num_rows == before
    assert catalog.read(catalog.load(settings), "ml.message_topics", row_filter=in_week).num_rows == len(message_topics)
