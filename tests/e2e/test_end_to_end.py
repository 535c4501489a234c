"""The whole pipeline on real components, as `reasonlake demo` runs it: the embedded broker,
the PyFlink ingestion job, dbt, BERTopic on the real model, the election, Feast, and the PyFlink
alert job with the real model and online store."""

import pytest

from lake.settings import Settings
from reasonlake.demo import run_demo
from tests.support.demo_checks import check_alerts
from tests.support.leaks import leaks, present_in_raw

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def test_demo_elects_the_surge_and_alerts_only_on_elected_reasons(tmp_path, monkeypatch, capfd):
    # a user's exported REASONLAKE_HOME and a --home flag: the flag wins for every artefact of the run
    exported, flagged = tmp_path / "exported-home", tmp_path / "flag-home"
    monkeypatch.setenv("REASONLAKE_HOME", str(exported))
    settings = Settings.from_env(home=flagged)  # what the CLI does with --home
    report = run_demo(settings, messages=2400, weeks=2, seed=21, incoming=40, echo=print)
    assert report.ok, report
    # the demo's own lines, one block per stage: dbt's and Dagster's per-step output of each weekly run
    # goes to that week's log (named in the demo's line), not between them
    out, err = capfd.readouterr()
    shown = out + err
    for week_log in sorted((flagged / "logs").glob("weekly-*.log")):
        assert f"its output: {week_log}" in shown
        assert "Completed successfully" in week_log.read_text() and "dagster - " in week_log.read_text()
    assert shown.count("its output: ") == 2 and "Completed successfully" not in shown and "dagster - " not in shown
    assert " accepted into raw.feedback, " in shown and "IngestSummary(" not in shown  # in words, not a repr
    assert not exported.exists()
    for artefact in (
        "catalog.db",
        "warehouse/raw",
        "dbt/reasonlake.duckdb",
        "models/topics/CURRENT.json",
        "feast/registry.db",
        "feast/online.db",
        "dagster/dagster.yaml",
        "plots/elections",
    ):
        assert (flagged / artefact).exists(), artefact
    assert list((flagged / "dagster").rglob("*.db")), "the CLI's runs are in the home's Dagster instance"
    # the surging issue is elected in its week (report.ok); it is usually #1, but a fit may split it
    # into several topics of the same issue (docs/history/results-journal.md, section "Topic quality / Fit"), so
    # its rank is not asserted
    assert report.surge_issue in report.elected_issues, report.elected_issues
    assert sum(report.rejected.values()) > 0  # malformed records kept with a reason
    # alerts fire for fresh messages about elected issues, never for praise or questions
    # (a complaint written without any negative word and without a rating is not seen as unhappy)
    check_alerts(report)  # the surge alerts, praise and neutral messages never do
    # alerts are for elected reasons; the streaming classifier may confuse a rare message
    off_target = sum(n for kind, n in report.alert_kinds.items() if kind not in report.elected_issues)
    assert off_target <= 0.1 * sum(report.alert_kinds.values()), report.alert_kinds
    # personal data: made-up contact details in history and fresh messages are kept in raw.feedback
    # and nowhere else (marts, embeddings, topics, labels, elections, alerts, Feast, reports)
    assert len(report.pii) >= 20
    assert len(present_in_raw(settings, report.pii)) >= 20  # the history's (fresh ones only reach alerting)
    assert leaks(settings, report.pii) == {}
    check_backtest(settings, tmp_path, capfd)  # past elections under other policies, from the stored weeks

    # the real UI backend on the demo's home: the webserver's GraphQL API (what the UI's client asks)
    graph = dagster_graphql(settings)
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graph["assetNodes"]}
    for key in ("kafka/feedback", "raw/feedback", "marts/fct_feedback_messages", "ml/topic_model", "ml/elections"):
        assert key in nodes, sorted(nodes)
    upstream = {k: {"/".join(d["path"]) for d in n["dependencyKeys"]} for k, n in nodes.items()}
    assert "kafka/feedback" in upstream["raw/feedback"] and "ml/elections" in upstream["feast/reasons"]
    assert "feast/reasons" in upstream["alerts/alerts"]
    assert nodes["raw/feedback"]["assetMaterializations"], "the ingest commits are reported to Dagster"
    checks = {
        c["name"]: c["executionForLatestMaterialization"]["status"]
        for n in nodes.values()
        for c in n["assetChecksOrError"].get("checks", [])
        if c["executionForLatestMaterialization"] is not None
    }
    assert checks["gate_outlier_share"] == "SUCCEEDED" and checks["online_matches_election"] == "SUCCEEDED", checks
    assert checks["assert_feedback_messages_dedup_complete"] == "SUCCEEDED", checks  # dbt's singular test


GRAPHQL = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    assetMaterializations(limit: 1) { timestamp }
    assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } }
} }
"""


def dagster_graphql(settings: Settings) -> dict:
    """Start `dagster-webserver` on the home's instance and answer :data:`GRAPHQL` through its API."""
    from tests.support.ui import Ui

    ui = Ui(settings)
    try:
        return ui.query(GRAPHQL)
    finally:
        ui.stop()


def check_backtest(settings: Settings, tmp_path, capfd) -> None:
    """`reasonlake backtest` on the demo's weeks against what they stored: the live policy against itself
    changes nothing and reproduces the stored elections; top_k 1 drops exactly the stored elected reasons ranked
    2+, a high min_share exactly those below it, each with the following week's stored dissatisfied messages of
    the dropped reasons as lost alerts and the recorded alerts on them; nothing is refitted or written."""
    import json

    import yaml

    from lake import catalog as lake_catalog
    from lake.weeks import shift_week
    from reasonlake import errors
    from reasonlake.cli import cli
    from reasons.election.policy import POLICY_FILE

    cat = lake_catalog.load(settings)
    tables = ("ml.topics", "ml.message_topics", "ml.elections", "ml.reasons", "alerts.alerts")

    def snapshots() -> dict:
        return {t: cat.load_table(t).current_snapshot().snapshot_id for t in tables}

    before, model = snapshots(), (settings.home / "models/topics/CURRENT.json").read_text()
    stored = lake_catalog.read(cat, "ml.elections").to_pandas()
    fields = ("week", "reason_id", "topic_id", "dissatisfied")
    mt = lake_catalog.read(cat, "ml.message_topics", selected_fields=fields).to_pandas()
    alerts = lake_catalog.read(cat, "alerts.alerts", selected_fields=("week", "reason_id", "kind")).to_pandas()
    shipped = yaml.safe_load(POLICY_FILE.read_text())

    def backtest(**change) -> dict:
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump({**shipped, **change, "policy_version": f"try {change}"}))
        capfd.readouterr()
        code = errors.run(cli, ["--home", str(settings.home), "backtest", "--policy", str(path), "--format", "json"])
        out, err = capfd.readouterr()
        assert code == 0, err
        return json.loads(out)

    same = backtest()
    assert [w["week"] for w in same["weeks"]] == sorted(set(stored["week"])) and len(same["weeks"]) == 2
    assert same["summary"]["weeks_changed"] == 0 and same["summary"]["weeks_stored_differently"] == 0, same
    for week in same["weeks"]:
        rows = stored[(stored["week"] == week["week"]) & stored["elected"]].sort_values("rank")
        assert week["elected_new"] == week["elected_live"] == list(rows["reason_id"]) != []
    for change, kept in (({"top_k": 1}, lambda r: r["rank"] <= 1), ({"min_share": 0.5}, lambda r: r["share"] >= 0.5)):
        result = backtest(**change)
        for week in result["weeks"]:
            rows = stored[(stored["week"] == week["week"]) & stored["elected"]].sort_values("rank")
            dropped = [r["reason_id"] for _, r in rows.iterrows() if not kept(r)]
            assert [c["reason_id"] for c in week["dropped"]] == dropped, (change, week)
            assert week["gained"] == [] and week["rank_changes"] == []
            nxt = mt[(mt["week"] == shift_week(week["week"], 1)) & mt["dissatisfied"] & (mt["topic_id"] != -1)]
            assert week["alerts_lost"] == (None if nxt.empty else int(nxt["reason_id"].isin(dropped).sum()))
            raised = alerts[(alerts["week"] == week["week"]) & (alerts["kind"].fillna("alert") != "digest")]
            assert week["recorded_on_dropped"] == int(raised["reason_id"].isin(dropped).sum())
        assert result["summary"]["dropped"] > 0, result  # the demo elects 2+ reasons a week, none at half of it
    assert snapshots() == before and (settings.home / "models/topics/CURRENT.json").read_text() == model
