"""The evaluation harness (reasons/evaluation.py) on hand-made labelled weeks: separable issues score
perfectly, issues the embeddings cannot tell apart lower purity and alert precision."""

import numpy as np
import pandas as pd

from reasons.election.policy import load_policy
from reasons.evaluation import evaluate_weeks, summary

WORDS = [["refund", "late", "money"], ["card", "declined", "payment"], ["login", "password"], ["parcel", "missing"]]


def _weeks(centre_of: list[int], seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three weeks of 120 messages over four labelled issues; issue k is embedded around centre_of[k]."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 32))
    rows, vectors = [], []
    for week in ("2023-W01", "2023-W02", "2023-W03"):
        for i in range(120):
            k = i % 4
            rows.append(
                {"week": week, "text": " ".join(WORDS[k]) + f" w{i % 7}", "label": f"L{k}", "dissatisfied": True}
            )
            vectors.append(centres[centre_of[k]] + 0.2 * rng.normal(size=32))
    return pd.DataFrame(rows), np.asarray(vectors, dtype=np.float32)


def test_separable_issues_score_perfectly_and_the_last_week_only_receives_alerts():
    frame, vectors = _weeks([0, 1, 2, 3])
    weeks = evaluate_weeks(frame, vectors, load_policy()[0])
    s = summary(weeks)
    assert [q.week for q in weeks] == ["2023-W01", "2023-W02"]
    assert s["mean_hits"] == 3 and s["purity"] == 1.0 and s["alert_precision"] == 1.0
    assert all(q.alerts > 0 for q in weeks)
    # each elected reason is one issue, far tighter than its week of four issues
    for q in weeks:
        assert q.elected_majority_share == (1.0,) * len(q.elected) and len(q.elected) == 3
        assert all(c > 1.5 for c in q.elected_week_coherence), q.elected_week_coherence


def test_issues_the_embeddings_cannot_separate_lower_purity_and_precision():
    frame, vectors = _weeks([0, 0, 2, 3])  # L0 and L1 share one centre
    weeks = evaluate_weeks(frame, vectors, load_policy()[0])
    s = summary(weeks)
    assert s["purity"] < 0.9 and s["alert_precision"] < 0.9
    assert min(share for q in weeks for share in q.elected_majority_share) < 0.9  # the shared centre's reason
