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
