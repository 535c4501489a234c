"""Reasons on a consumer channel nothing was tuned on: the held-out part of the product reviews in
``../shared/data/product_complaints`` (CESAMARD-Aspect, MIT; from 2020-W49 on, periods of four ISO weeks:
``reasons.corpora.product_frame``), complaints mixed with praise, each complaint labelled with the aspects
that went wrong. Each period but the last is fitted, grouped, registered and elected with the real
embedding model and the defaults, the pipeline's dissatisfaction classifier deciding what counts; the next
period is streamed through the model as the alert job would. Strict: an alert is right when one of the
review's own aspects is the majority aspect of the reason it was alerted for. Figures and the targets
still not met: bench/RESULTS.md, "Quality on held-out parts"."""

import pytest

from reasons.corpora import PRODUCT_MIN_PERIOD
from reasons.election.policy import load_policy
from reasons.evaluation import evaluate_weeks, summary
from reasons.sentiment import score_messages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def periods(held_out_products):
    frame, embeddings = held_out_products  # tests/integration/conftest.py
    scored = score_messages(frame[["text"]], embeddings)
    frame = frame.assign(predicted=scored["dissatisfied"].to_numpy(), alerting=scored["alertable"].to_numpy())
    assert frame.groupby("week").size().min() >= PRODUCT_MIN_PERIOD  # every held-out period is evaluated
    policy, _ = load_policy()
    return evaluate_weeks(frame, embeddings, policy, log=print)


# Measured (seed 42): mean hits 1.83 of 3, 2+ in 5 of 6 periods; alert precision 0.79 at recall 0.16; 12% of
# alerts on reviews that complain about nothing (0.74 and 11% with the classifier before it also trained on the
# development parts). The targets, 0.8 at recall 0.4 and at most 5%, are not met at recall (bench/RESULTS.md,
# "Quality on held-out parts").
def test_the_most_common_complaints_are_elected_and_alerts_name_them(periods):
    s = summary(periods)
    print(s)
    assert len(periods) == 6
    assert s["mean_hits"] >= 1.5 and s["weeks_with_2_hits"] >= 4, [(q.week, q.truth, q.elected) for q in periods]
    assert s["alert_precision"] >= 0.7, s
    assert s["alerts_not_complaining"] <= 0.2, s
    assert sum(q.alerts for q in periods) > 0
