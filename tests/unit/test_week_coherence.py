"""How tight a group of a week's messages is against the week itself (reasons.evaluation, pure)."""

import numpy as np

from reasons.evaluation import week_relative_coherence


def test_a_group_no_tighter_than_its_week_scores_about_one():
    rng = np.random.default_rng(3)
    week = np.vstack([c + 0.3 * rng.normal(size=(200, 16)) for c in rng.normal(size=(5, 16))])
    one_issue = np.zeros(len(week), dtype=bool)
    one_issue[:200] = True
    a_little_of_everything = rng.random(len(week)) < 0.2
    assert week_relative_coherence(week, one_issue) > 1.5
    assert abs(week_relative_coherence(week, a_little_of_everything) - 1.0) < 0.05
    assert np.isnan(week_relative_coherence(week, np.zeros(len(week), dtype=bool)))
