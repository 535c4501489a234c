"""`reasonlake backtest` on a small lake (two weeks stored as a weekly run stores them, in Iceberg): its output
and its failures (one line, a documented exit code)."""

import json

import pandas as pd
import pytest

from reasonlake import errors
from reasonlake.cli import cli
from reasons.election.backtest import WeekInputs, recompute
from tests.support.backtest_frames import TOPICS, W1, W2, inputs

# ---- the command on a small lake --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory):
    """Two weeks as a weekly run stores them (topics, assignments, registry, elections under the shipped
    policy) and one alert on the first week's election; nothing else."""
    from lake.settings import Settings
    from reasons.election.policy import load_policy
    from reasons.weekly.tables import write_week

    home = tmp_path_factory.mktemp("backtest-home")
    settings = Settings.from_env(home=home)
    live = load_policy()[0]
    stored_previous = None
    for week in (W1, W2):
        base = inputs(week)
        write_week(settings, "ml.topics", base.topics.assign(week=week, keywords=None, size=1, fitted_at=NOW), week)
        mt = base.message_topics.assign(week=week, similarity=0.9, rating=None, sentiment=-0.5, created_at=NOW)
        write_week(settings, "ml.message_topics", mt, week)
        reasons = pd.DataFrame({"reason_id": list(TOPICS.values())}).assign(
            week=week, label="l", embedding=[[1.0]] * len(TOPICS), born_week=W1, last_seen_week=week
        )
        write_week(settings, "ml.reasons", reasons.assign(status="alive", size=1, updated_at=NOW), week)
        prior = stored_previous if stored_previous is not None else pd.DataFrame(columns=["reason_id", "message_count"])
        inputs_week = WeekInputs(**{**base.__dict__, "previous": prior, "born_weeks": {r: W1 for r in TOPICS.values()}})
        stored_previous = recompute(inputs_week, live)
        write_week(settings, "ml.elections", stored_previous, week)
    # a week with an election but no stored topics
    stored = stored_previous.assign(week="2026-W48")
    write_week(settings, "ml.elections", stored, "2026-W48")
    from lake import catalog as lake_catalog

    alert = {"alert_id": "x", "reason_id": "r2", "label": "l", "week": W1, "model_version": "m", "alerted_at": NOW}
    table = lake_catalog.ensure_table(lake_catalog.load(settings), "alerts.alerts")
    lake_catalog.append(table, lake_catalog.to_arrow("alerts.alerts", [{**alert, "kind": "alert", "outcome": "sent"}]))
    return home


NOW = pd.Timestamp("2026-11-30T00:00:00Z").to_pydatetime()


def _run(args, capsys):
    code = errors.run(cli, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_reports_what_top_k_1_drops(lake_home, tmp_path, capsys):
    policy = tmp_path / "top1.yaml"
    policy.write_text('policy_version: "try-top1"\ntop_k: 1\n')
    code, out, err = _run(
        ["--home", str(lake_home), "backtest", "--policy", str(policy), "--weeks", f"{W1}:{W2}", "--format", "json"],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["new_policy"] == "try-top1" and [w["week"] for w in report["weeks"]] == [W1, W2]
    first, second = report["weeks"]
    assert [c["reason_id"] for c in first["dropped"]] == ["r1", "r2"] and first["gained"] == []
    # counted on the second week's stored dissatisfied, non-outlier assignments of r1 (12) and r2 (8)
    assert first["following_week"] == W2 and first["alerts_lost"] == 20 and first["alerts_gained"] == 0
    assert first["recorded_alerts"] == 1 and first["recorded_on_dropped"] == 1  # the alert on r2
    assert second["following_week"] is None and second["alerts_lost"] is None
    assert report["summary"]["dropped"] == 4 and report["summary"]["weeks_stored_differently"] == 0
    code, out, _ = _run(["--home", str(lake_home), "backtest", "--policy", str(policy), "--weeks", W1], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("policy try-top1 (") and lines[-1].startswith("summary: 1 week(s), 1 changed")
    assert any(
        line.startswith("  - dropped 'label r2' (r2): was rank 3; -8 would-be alerts in 2026-W47") for line in lines
    )


def test_the_live_policy_against_itself_reports_no_difference(lake_home, capsys):
    from reasons.election.policy import POLICY_FILE

    code, out, err = _run(["--home", str(lake_home), "backtest", "--policy", str(POLICY_FILE), "--weeks", W1], capsys)
    assert code == 0, err
    assert "  no difference" in out.splitlines() and "0 changed" in out and "note:" not in out


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--weeks", "2026-W30"], errors.DATA, "no election for 2026-W30"),
        (["--weeks", "2026-W48"], errors.DATA, "no stored topics for 2026-W48"),
        (["--weeks", "W47"], errors.USAGE, "not ISO YYYY-Www"),
    ],
)
def test_bad_weeks_end_in_one_line(lake_home, tmp_path, capsys, args, code, says):
    policy = tmp_path / "p.yaml"
    policy.write_text('policy_version: "p"\n')
    got, _, err = _run(["--home", str(lake_home), "backtest", "--policy", str(policy), *args], capsys)
    assert got == code, err
    assert says in err and "Traceback" not in err


@pytest.mark.parametrize("text", ['policy_version: "p"\ntop_k: 0\n', "top_k: 1\n", "[1, 2]\n"])
def test_an_invalid_policy_file_is_a_configuration_error(lake_home, tmp_path, capsys, text):
    policy = tmp_path / "bad.yaml"
    policy.write_text(text)
    code, _, err = _run(["--home", str(lake_home), "backtest", "--policy", str(policy)], capsys)
    assert code == errors.CONFIGURATION, err
    [line] = err.strip().splitlines()
    assert line.startswith("reasonlake: configuration:") and str(policy) in line
