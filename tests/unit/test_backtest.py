"""`reasonlake backtest`: the diff of two elections of a week (hand-built frames), the recomputation under
another policy with the weekly graph's own `elect`, the weeks it selects, and the command on a small lake
(its output and its failures: one line, a documented exit code)."""

import json

import pandas as pd
import pytest

from reasonlake import errors
from reasonlake.cli import cli
from reasons.election.backtest import (
    BacktestError,
    WeekInputs,
    backtest_week,
    diff_week,
    recompute,
    select_weeks,
)
from reasons.election.policy import ElectionPolicy

W1, W2 = "2026-W46", "2026-W47"


def election(rows: list[tuple[str, int, bool]]) -> pd.DataFrame:
    """``ml.elections`` rows (reason_id, rank, elected), labelled after their reason."""
    return pd.DataFrame(
        {
            "reason_id": [r for r, _, _ in rows],
            "label": [f"label {r}" for r, _, _ in rows],
            "rank": [k for _, k, _ in rows],
            "elected": [e for _, _, e in rows],
            "model_version": "m1",
        }
    )


def assignments(counts: dict[tuple[int, str], int], satisfied: int = 4, week: str = W1) -> pd.DataFrame:
    """``ml.message_topics`` rows: ``counts[(topic, reason)]`` dissatisfied messages each, and ``satisfied``
    happy ones in topic 0."""
    rows = [
        (t, r, True, src)
        for (t, r), n in counts.items()
        for i in range(n)
        for src in ["crm" if i % 2 else "review_portal"]
    ]
    rows += [(0, "r0", False, "crm")] * satisfied
    frame = pd.DataFrame(rows, columns=["topic_id", "reason_id", "dissatisfied", "source"])
    frame["message_id"] = [f"{week}-{i}" for i in range(len(frame))]
    frame["model_version"] = f"model-{week}"
    return frame


TOPICS = {0: "r0", 1: "r1", 2: "r2", 3: "r3", -1: "outliers"}
COUNTS = {(0, "r0"): 20, (1, "r1"): 12, (2, "r2"): 8, (3, "r3"): 3, (-1, "outliers"): 6}


def inputs(week: str = W1, following: pd.DataFrame | None = None, recorded: pd.DataFrame | None = None) -> WeekInputs:
    topics = pd.DataFrame(
        {
            "topic_id": list(TOPICS),
            "reason_id": list(TOPICS.values()),
            "label": [f"label {r}" for r in TOPICS.values()],
            "model_version": f"model-{week}",
        }
    )
    return WeekInputs(
        week=week,
        message_topics=assignments(COUNTS, week=week),
        topics=topics,
        previous=pd.DataFrame({"reason_id": ["r0"], "message_count": [10]}),
        born_weeks={r: week for r in TOPICS.values()},
        stored=None,
        following=following,
        recorded=recorded,
    )


def test_the_diff_names_gained_dropped_and_moved_reasons_and_counts_their_alerts():
    live = election([("a", 1, True), ("b", 2, True), ("c", 3, True), ("d", 4, False), ("outliers", 5, False)])
    new = election([("b", 1, True), ("a", 2, True), ("c", 3, False), ("d", 4, True), ("outliers", 5, False)])
    # next week: dissatisfied messages count; happy ones and outliers do not
    following = pd.DataFrame(
        {
            "reason_id": ["c"] * 5 + ["d"] * 3 + ["c", "d"] + ["outliers"] * 4,
            "topic_id": [2] * 5 + [3] * 3 + [2, 3] + [-1] * 4,
            "dissatisfied": [True] * 8 + [False, False] + [True] * 4,
        }
    )
    recorded = pd.DataFrame(
        {"reason_id": ["c", "c", "a", "c"], "kind": ["alert", None, "alert", "digest"]}  # a digest is no alert
    )
    diff = diff_week(W1, live, new, following=following, following_week=W2, recorded=recorded)
    assert [c.reason_id for c in diff.gained] == ["d"] and diff.gained[0].new_rank == 4
    assert [c.reason_id for c in diff.dropped] == ["c"] and diff.dropped[0].live_rank == 3
    assert [(c.reason_id, c.live_rank, c.new_rank) for c in diff.rank_changes] == [("b", 2, 1), ("a", 1, 2)]
    assert (diff.alerts_gained, diff.alerts_lost, diff.following_week) == (3, 5, W2)
    assert (diff.recorded_alerts, diff.recorded_on_dropped) == (3, 2)
    assert diff.elected_live == ["a", "b", "c"] and diff.elected_new == ["b", "a", "d"]
    assert diff.changed and diff.stored_mismatch == []
    assert diff.gained[0].label == "label d"


def test_without_a_stored_following_week_no_alerts_are_counted():
    live = election([("a", 1, True), ("b", 2, True)])
    new = election([("a", 1, True), ("b", 2, False)])
    diff = diff_week(W1, live, new)
    assert diff.dropped[0].reason_id == "b" and diff.dropped[0].alerts is None
    assert diff.alerts_lost is None and diff.alerts_gained is None and diff.following_week is None


def test_the_stored_election_is_compared_with_the_live_policys():
    live = election([("a", 1, True), ("b", 2, True)])
    stored = election([("a", 1, True), ("b", 2, False)]).assign(policy_version="old")
    diff = diff_week(W1, live, live, stored=stored)
    assert not diff.changed and diff.stored_mismatch == ["b"] and diff.stored_policy_version == "old"


def test_the_same_policy_makes_no_difference():
    following = assignments({(1, "r1"): 9, (3, "r3"): 4}, week=W2)
    diff = backtest_week(inputs(following=following), ElectionPolicy(), ElectionPolicy(policy_version="copy"))
    assert not diff.changed and not diff.gained and not diff.dropped and not diff.rank_changes
    assert (diff.alerts_gained, diff.alerts_lost) == (0, 0)
    assert diff.elected_live == diff.elected_new == ["r0", "r1", "r2"]  # r3: 3 < min_count 5


def test_top_k_1_drops_every_reason_ranked_2_and_below_and_their_next_week_alerts():
    following = assignments({(1, "r1"): 9, (2, "r2"): 4, (0, "r0"): 1}, week=W2)
    diff = backtest_week(inputs(following=following), ElectionPolicy(), ElectionPolicy(top_k=1))
    live = recompute(inputs(), ElectionPolicy())
    ranked_below = live.loc[live["elected"] & (live["rank"] >= 2), "reason_id"].tolist()
    assert [c.reason_id for c in diff.dropped] == ranked_below == ["r1", "r2"]
    assert diff.gained == [] and diff.rank_changes == []
    assert [c.alerts for c in diff.dropped] == [9, 4] and diff.alerts_lost == 13 and diff.alerts_gained == 0


def test_a_lower_minimum_elects_more_and_source_weights_move_ranks():
    looser = ElectionPolicy(top_k=4, min_count=3)
    diff = backtest_week(inputs(), ElectionPolicy(), looser)
    assert [(c.reason_id, c.new_rank) for c in diff.gained] == [("r3", 4)] and diff.dropped == []
    # only the source weights move ranks: r2's 8 messages from a source weighted 4 outscore r0's 20
    base = inputs()
    mt = base.message_topics.copy()
    mt.loc[mt["reason_id"] == "r2", "source"] = "support_portal"
    moved = backtest_week(
        WeekInputs(**{**base.__dict__, "message_topics": mt}),
        ElectionPolicy(),
        ElectionPolicy(source_weights=(("support_portal", 4.0),)),
    )
    assert [(c.reason_id, c.live_rank, c.new_rank) for c in moved.rank_changes] == [
        ("r2", 3, 1),
        ("r0", 1, 2),
        ("r1", 2, 3),
    ]


def test_a_week_without_stored_topics_is_a_data_error():
    empty = inputs()
    with pytest.raises(BacktestError, match="no stored topics for 2026-W46"):
        recompute(WeekInputs(**{**empty.__dict__, "topics": empty.topics.iloc[0:0]}), ElectionPolicy())


def test_weeks_are_selected_among_the_elected_ones():
    have = ["2026-W45", "2026-W47", "2026-W46"]
    assert select_weeks(None, have) == ["2026-W45", "2026-W46", "2026-W47"]
    assert select_weeks("2026-W46", have) == ["2026-W46"]
    assert select_weeks("2026-W40:2026-W46", have) == ["2026-W45", "2026-W46"]
    with pytest.raises(BacktestError, match=r"no election for 2026-W48: ml\.elections holds 2026-W45"):
        select_weeks("2026-W48", have)
    with pytest.raises(BacktestError, match="no election between"):
        select_weeks("2026-W01:2026-W10", have)
    with pytest.raises(BacktestError, match="no week yet"):
        select_weeks(None, [])
    for bad in ("2026-47", "2026-W47:x", "2026-W47:2026-W45"):
        with pytest.raises(ValueError):
            select_weeks(bad, have)


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
