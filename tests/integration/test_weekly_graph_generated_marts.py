"""The weekly topic → election → Feast assets through Dagster, on realistic synthetic feedback, with the
dbt marts replaced: ``read_week_messages`` (``reasons/marts.py``) is swapped for the generator's messages of
the week, in the columns it returns, so neither the broker, the ingest job nor dbt runs here.

Why replaced: this test is about what the graph does with a week (gates, shadow and promote, a corrupt
artefact, the report, the online store and the classify API), run five times over two weeks; ingesting
the weeks with the Flink job and building the marts with dbt first would add a JVM start and a dbt build
to the CI run for no more coverage of the graph. What is replaced is tested for real elsewhere: the reader on dbt's marts in ``tests/integration/test_dbt_build.py``; the whole
chain (broker, Flink ingest job, dbt, these assets, alerts) in ``tests/e2e/test_end_to_end.py`` and
``tests/e2e/test_living_system.py``.
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pandas as pd
import pytest
from dagster import materialize
from pyiceberg.expressions import EqualTo

from dagster_project.elections.definitions import build_defs as elections_defs
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.serving.definitions import build_defs as serving_defs
from dagster_project.topics import assets as topic_assets
from dagster_project.topics.definitions import build_defs as topics_defs
from lake import catalog
from lake.settings import Settings
from lake.weeks import shift_week, week_of, week_to_partition_key
from reasonlake.synthetic import ISSUES, SyntheticSpec, generate, topic_issues
from reasons.election import policy as policy_module
from reasons.registry import NOT_A_REASON_ID
from reasons.topics.artifact import ARTIFACT_FILE, TopicArtifact, artifact_path, current_artifact_path
from tests.support.serving import get, post, serving

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
SURGE = "hidden_fees"


@pytest.fixture(scope="module")
def feedback():
    records, truth = generate(
        SyntheticSpec(
            messages=900,
            weeks=2,
            seed=5,
            surge_issue=SURGE,
            surge_week_index=1,
            invalid_rate=0.0,
            duplicate_rate=0.0,
            now=NOW,
        )
    )
    rows = [json.loads(r.value) for r in records if r.kind not in ("invalid", "duplicate")]
    frame = pd.DataFrame(
        {
            "message_id": [r["message_id"] for r in rows],
            "source": [r["source"] for r in rows],
            "text": [r["text"] for r in rows],
            "created_at": pd.to_datetime([r["created_at"] for r in rows], utc=True, format="ISO8601"),
            "rating": pd.array([r.get("rating") for r in rows], dtype="Int64"),
        }
    )
    frame["week"] = [week_of(ts) for ts in frame["created_at"]]
    return frame, truth


def _materialize(settings, week, raise_on_error=True):
    weeks = weekly_partitions(shift_week(week, -4))
    domains = [build(weeks) for build in (topics_defs, elections_defs, serving_defs)]
    all_defs = [d for defs in domains for d in (*defs.assets, *defs.asset_checks)]
    return materialize(
        all_defs,
        partition_key=week_to_partition_key(week),
        resources={"reasonlake": ReasonlakeResource.from_settings(settings)},
        raise_on_error=raise_on_error,
    )


CHECKS = {
    "has_topics": True,
    "outlier_share_below_max": True,
    "stream_batch_agreement": True,
    "elected_when_dissatisfied": True,
    "election_is_consistent": True,
    "gate_outlier_share": True,
    "gate_covered_share": True,
    "gate_change_against_last_week": True,
    "online_matches_election": True,
}


def test_weekly_graph_on_generated_marts_elects_the_surge_and_serves_it(tmp_path, monkeypatch, feedback):
    frame, truth = feedback
    settings = Settings(home=tmp_path)
    monkeypatch.setattr(  # the replaced dbt mart reader (see the module's docstring)
        topic_assets,
        "read_week_messages",
        lambda s, week: frame[frame["week"] == week].drop(columns="week").reset_index(drop=True),
    )
    calm, surge = truth.weeks
    result = _materialize(settings, calm)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == CHECKS
    calm_version = TopicArtifact.load(current_artifact_path(settings)).model_version

    # shadow then promote: a failing gate keeps last week's reasons (and topic model) live, and says why
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        policy_module.POLICY_FILE.read_text().replace("max_outlier_share: 0.25", "max_outlier_share: 0.0")
    )
    blocked = _materialize(settings.replace(policy_file=policy), surge, raise_on_error=False)
    gates = {e.check_name: e for e in blocked.get_asset_check_evaluations()}
    assert gates["gate_outlier_share"].passed is False
    assert "NOT promoted" in gates["gate_outlier_share"].metadata["why"].value
    assert "online_matches_election" not in gates  # feast/reasons did not run
    assert not [e for e in blocked.get_asset_materialization_events() if e.asset_key.path == ["feast", "reasons"]]
    assert TopicArtifact.load(current_artifact_path(settings)).model_version == calm_version
    from feature_repo.online import ReasonLookup

    calm_rows = catalog.read(catalog.load(settings), "ml.elections", row_filter=EqualTo("week", calm)).to_pylist()
    live = ReasonLookup(settings).get([r["reason_id"] for r in calm_rows])
    assert {v["week"] for v in live.values() if v is not None} == {calm}

    # a corrupt artefact never goes live: feast/reasons fails saying why, nothing is published, and
    # the calm week's model stays current (the blocked run above left the surge week's model on disk)
    surge_version = catalog.read(catalog.load(settings), "ml.elections", row_filter=EqualTo("week", surge)).to_pylist()[
        0
    ]["model_version"]
    broken = artifact_path(settings, surge, surge_version) / ARTIFACT_FILE
    broken.write_text(broken.read_text()[:500])  # a truncated write
    corrupt = materialize(
        list(serving_defs(weekly_partitions(shift_week(surge, -4))).assets),
        partition_key=week_to_partition_key(surge),
        resources={"reasonlake": ReasonlakeResource.from_settings(settings)},
        raise_on_error=False,
    )
    [failure] = [e for e in corrupt.all_events if e.is_step_failure]
    why = failure.step_failure_data.user_failure_data.description
    assert "is corrupt" in why and f"stays {calm_version}" in why, why
    assert TopicArtifact.load(current_artifact_path(settings)).model_version == calm_version
    live = ReasonLookup(settings).get([r["reason_id"] for r in calm_rows])
    assert {v["week"] for v in live.values() if v is not None} == {calm}
    result = _materialize(settings, surge)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == CHECKS

    cat = catalog.load(settings)
    in_week = EqualTo("week", surge)
    message_topics = catalog.read(cat, "ml.message_topics", row_filter=in_week).to_pylist()
    assert len(message_topics) == (frame["week"] == surge).sum()
    elections = sorted(catalog.read(cat, "ml.elections", row_filter=in_week).to_pylist(), key=lambda r: r["rank"])
    issue_of_topic = topic_issues(truth.labels, message_topics)
    elected = [issue_of_topic[r["topic_id"]] for r in elections if r["elected"]]
    assert elected[0] == SURGE, elections
    assert set(elected) <= set(ISSUES)  # praise and questions are not dissatisfied: never elected

    # the registry: stable reason ids carried by every table, the artefact and the online store
    reasons_calm = {
        r["reason_id"] for r in catalog.read(cat, "ml.reason_mappings", row_filter=EqualTo("week", calm)).to_pylist()
    }
    mappings = catalog.read(cat, "ml.reason_mappings", row_filter=in_week).to_pylist()
    assert all(m["reason_id"].startswith("R") or m["reason_id"] == NOT_A_REASON_ID for m in mappings)
    reason_maps = [m for m in mappings if m["reason_id"] != NOT_A_REASON_ID]  # praise, questions: no reason
    kept = [m for m in reason_maps if m["match"] == "matched"]
    assert len(kept) >= 0.8 * len(reason_maps) and {m["reason_id"] for m in kept} <= reasons_calm
    assert {r["reason_id"] for r in message_topics if r["topic_id"] >= 0} <= {m["reason_id"] for m in mappings}
    surge_row = elections[0]
    assert surge_row["policy_version"] and json.loads(surge_row["snapshot_ids"])["ml.message_topics"]
    assert surge_row["previous_count"] is not None and surge_row["count_change"] == (
        surge_row["message_count"] - surge_row["previous_count"]
    )
    assert sum(json.loads(surge_row["sources"]).values()) == surge_row["message_count"]
    assert 1 <= len(surge_row["example_message_ids"]) <= 3

    # model version and artefact agree across the tables, the pointer and the online store
    version = elections[0]["model_version"]
    assert {r["model_version"] for r in message_topics} == {version}
    artifact = TopicArtifact.load(current_artifact_path(settings))
    assert (artifact.week, artifact.model_version) == (surge, version)
    text = frame.loc[frame["message_id"] == message_topics[0]["message_id"], "text"].item()
    assert artifact.assign([text])[0].topic_id == message_topics[0]["topic_id"]
    assert artifact.reason_id(surge_row["topic_id"]) == surge_row["reason_id"]

    from feature_repo.online import ReasonLookup

    online = ReasonLookup(settings).get([r["reason_id"] for r in elections])
    assert [online[r["reason_id"]]["elected"] for r in elections] == [r["elected"] for r in elections]
    assert (settings.plots_dir / "elections" / surge / "election.png").stat().st_size > 0
    assert (settings.plots_dir / "elections" / surge / "topics_over_time.png").stat().st_size > 0
    # the week's report, written by the election and printed by `reasonlake report`
    import html

    page = (settings.reports_dir / f"{surge}.html").read_text()
    assert html.escape(elections[0]["label"]) in page and "data:image/png;base64," in page
    printed = subprocess.run(
        [sys.executable, "-m", "reasonlake", "--home", str(settings.home), "report", "--week", surge],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert printed.returncode == 0 and f"| 1 | {elections[0]['label']} |" in printed.stdout, printed.stderr[-2000:]
    missing = subprocess.run(
        [sys.executable, "-m", "reasonlake", "--home", str(settings.home), "report", "--week", "2020-W01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 5 and "no election for 2020-W01" in missing.stderr, missing.stderr[-2000:]

    # re-materializing a week replaces its rows (a refit may find a topic more or fewer, so compare
    # keys, not counts): one row per candidate of the week, the calm week untouched
    def calm_rows_now(cat):
        return sorted(
            catalog.read(cat, "ml.elections", row_filter=EqualTo("week", calm)).to_pylist(),
            key=lambda r: r["reason_id"],
        )

    # the classify API (`reasonlake serve`, a real server) judges with the live model and election;
    # the synthetic weeks lie in the past, so the surge week's election (valid two weeks) is stale
    surge_texts = [
        r["text"]
        for r in frame[frame["week"] == surge].to_dict("records")
        if truth.labels.get(r["message_id"]) == SURGE
    ][:20]
    batch = {"messages": [{"text": t, "rating": 1} for t in surge_texts]}
    with serving(settings) as url:
        health = get(url + "/health")
        assert (health["week"], health["stale"], health["reloads"]) == (surge, True, 0)
        assert not any(r["elected"] for r in post(url + "/classify", batch)["results"])

        # re-materializing the live week (with a longer validity) replaces its rows, and the running
        # server picks the new election up by itself
        long_valid = tmp_path / "long-valid.yaml"
        long_valid.write_text(policy_module.POLICY_FILE.read_text().replace("valid_weeks: 2", "valid_weeks: 520"))
        calm_before = calm_rows_now(cat)
        assert _materialize(settings.replace(policy_file=long_valid), surge).success
        cat = catalog.load(settings)
        again = catalog.read(cat, "ml.elections", row_filter=in_week).to_pylist()
        assert len(again) == len({r["reason_id"] for r in again}) > 0
        assert len({r["model_version"] for r in again}) == 1
        assert calm_rows_now(cat) == calm_before
        ids = catalog.read(cat, "ml.message_topics", row_filter=in_week).column("message_id").to_pylist()
        assert sorted(ids) == sorted(r["message_id"] for r in message_topics)
        deadline = time.monotonic() + 60
        while get(url + "/health")["stale"] and time.monotonic() < deadline:
            time.sleep(1)
        health = get(url + "/health")
        assert not health["stale"] and health["reloads"] >= 1
        elected_now = get(url + "/reasons")
        assert elected_now["model_version"] == health["model_version"] and elected_now["elected"]
        answer = post(url + "/classify", batch)
        top = elected_now["elected"][0]["reason_id"]
        assert sum(r["reason_id"] == top and r["elected"] for r in answer["results"]) >= 0.8 * len(surge_texts)
        one = post(url + "/classify", {"text": "thanks, all good", "rating": 5})["results"][0]
        assert not one["dissatisfied"] and one["reason_id"] is None and not one["elected"]
        with pytest.raises(urllib.error.HTTPError, match="422"):
            post(url + "/classify", {"messages": []})

    # only the newest promoted week is live: replaying the calm week writes its history, and leaves
    # the online store and the current model on the surge week
    live_version = TopicArtifact.load(current_artifact_path(settings)).model_version
    assert _materialize(settings, calm).success
    assert TopicArtifact.load(current_artifact_path(settings)).model_version == live_version
    live_rows = catalog.read(catalog.load(settings), "ml.elections", row_filter=in_week).to_pylist()
    online = ReasonLookup(settings).get([r["reason_id"] for r in live_rows])
    assert {v["week"] for v in online.values() if v is not None} == {surge}
