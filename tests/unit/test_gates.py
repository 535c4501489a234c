"""The promotion gates on a week's message topics (``reasons.weekly.election.gate_results``)."""

import pandas as pd

from reasons.election.policy import PromotionGates
from reasons.registry import NOT_A_REASON_ID, OUTLIER_REASON_ID
from reasons.weekly.election import gate_results

GATES = PromotionGates(max_outlier_share=0.25, min_covered_share=0.5, max_new_reason_share=0.6)
NO_MAPPINGS = pd.DataFrame({"reason_id": [], "match": []})


def _topics(*groups: tuple[int, str, int, int]) -> pd.DataFrame:
    """(topic_id, reason_id, dissatisfied, satisfied) per group of messages."""
    rows = []
    for topic, reason, bad, good in groups:
        rows += [{"topic_id": topic, "reason_id": reason, "dissatisfied": d} for d in [True] * bad + [False] * good]
    return pd.DataFrame(rows)


def _gates(mt: pd.DataFrame, mappings: pd.DataFrame = NO_MAPPINGS, weeks=("2026-W45",)) -> dict:
    return {g.gate: g for g in gate_results(mt, mappings, set(weeks), "2026-W46", GATES)}


def test_a_refused_catch_all_does_not_cover_its_dissatisfied_messages():
    # a catch-all the registry refused holds 70 of the 100 dissatisfied messages: 30% in a reason
    catch_all = _topics((0, NOT_A_REASON_ID, 70, 0), (1, "R1", 20, 0), (2, "R2", 10, 5), (-1, OUTLIER_REASON_ID, 0, 5))
    covered = _gates(catch_all)["covered_share"]
    assert not covered.passed and covered.value == 0.3
    assert "30.0% of 100 dissatisfied messages fall in a reason" in covered.why
    assert _gates(catch_all)["outlier_share"].passed  # 5 of 110

    split = _topics((0, "R3", 70, 0), (1, "R1", 20, 0), (2, "R2", 10, 5), (-1, OUTLIER_REASON_ID, 0, 5))
    assert _gates(split)["covered_share"].passed and _gates(split)["covered_share"].value == 1.0


def test_outliers_and_satisfied_topics_are_neither_covered_nor_counted_when_satisfied():
    mt = _topics((0, "R1", 40, 0), (-1, OUTLIER_REASON_ID, 30, 10), (1, NOT_A_REASON_ID, 30, 60))
    gates = _gates(mt)
    assert gates["covered_share"].value == 0.4 and not gates["covered_share"].passed
    assert gates["outlier_share"].value == 40 / 170 and gates["outlier_share"].passed


def test_reasons_born_this_week_fail_the_change_gate_except_in_the_registrys_first_week():
    mt = _topics((0, "R1", 30, 0), (1, "R9", 70, 0))
    born = pd.DataFrame({"reason_id": ["R9"], "match": ["born"]})
    change = _gates(mt, born)["change_against_last_week"]
    assert not change.passed and change.value == 0.7
    assert _gates(mt, born, weeks=("2026-W46",))["change_against_last_week"].passed  # nothing before
