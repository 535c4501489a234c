"""`reasonlake backtest`'s logic: the diff of two elections of a week (hand-built frames), the recomputation
under another policy with the weekly graph's own `elect`, the weeks it selects. The command on a small lake:
tests/integration/test_backtest_command.py."""

import pandas as pd
import pytest

from reasons.election.backtest import (
    BacktestError,
    WeekInputs,
    backtest_week,
    diff_week,
    recompute,
    select_weeks,
)
from reasons.election.policy import ElectionPolicy
from tests.support.backtest_frames import W1, W2, assignments, election, inputs


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
