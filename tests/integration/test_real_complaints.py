"""Reasons on real complaints: the CFPB corpus in ``../shared/data/cfpb`` (4,393 real narratives over five ISO
weeks, each with the consumer's own issue label). The floors read the held-out weeks only (2023-W24 to W26;
defaults were chosen on W22–W23 and, before that split existed, on all five: bench/RESULTS.md, "Tuned defaults
and why"): W24 and W25 are fitted, grouped, registered and elected one by one with the real embedding model and
the defaults, the pipeline's dissatisfaction classifier deciding which complaints count; each following week is
streamed through the model as the alert job would (``reasons.evaluation``). Figures: bench/RESULTS.md, "Quality
on held-out parts"; ``bench/quality.py`` prints them per part."""

from dataclasses import replace

import pytest

from reasons.corpora import CFPB_FAMILIES, CFPB_STOP_WORDS, cfpb_part
from reasons.election.policy import load_policy
from reasons.evaluation import evaluate_grains, evaluate_weeks, summary
from reasons.registry import RegistryParams
from reasons.sentiment import score_messages
from reasons.text import brand_terms
from reasons.topics.params import TopicModelParams

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _stop_words(frame):
    """The brand words of the corpus (its companies) and CFPB's redaction marks."""
    return brand_terms(names=frame["company"].dropna().unique()) + CFPB_STOP_WORDS


@pytest.fixture(scope="module")
def judged(cfpb):
    """The complaints with ``predicted``: what the pipeline's classifier says (it decides what counts)."""
    frame, embeddings = cfpb
    scored = score_messages(frame[["text"]], embeddings)
    return frame.assign(
        predicted=scored["dissatisfied"].to_numpy(), alerting=scored["alertable"].to_numpy()
    ), embeddings


def _first_week(data, weeks, params=TopicModelParams(), registry=RegistryParams()):
    """The first of two ``weeks`` of ``data`` (``judged``, or ``cfpb``: every complaint counts, as labelled)
    fitted, registered and elected alone, its alerts counted on the second."""
    frame, embeddings = data
    two = frame["week"].isin(weeks).to_numpy()
    policy, _ = load_policy()
    (week,) = evaluate_weeks(
        frame[two], embeddings[two], policy, params, registry=registry, stop_words=_stop_words(frame)
    )
    return week


@pytest.fixture(scope="module")
def grains(judged):
    """The held-out weeks fitted, registered and elected once, counted on the exact issues and on families
    (the three overlapping credit-report issues as one, ``CFPB_FAMILIES``: the grain the floors grade)."""
    frame, embeddings = judged
    held = cfpb_part(frame, held_out=True)
    policy, _ = load_policy()
    grains = {"issues": None, "families": CFPB_FAMILIES}
    return evaluate_grains(
        held, embeddings[held.index.to_numpy()], policy, grains, stop_words=_stop_words(frame), log=print
    )


@pytest.fixture(scope="module")
def weeks(grains):
    return grains["issues"]


@pytest.fixture(scope="module")
def family_weeks(grains):
    return grains["families"]


# Measured on the held-out weeks (seed 42, docs/history/results-journal.md, section "Held out"): exact issues,
# mean hits 2.50 (W24: 3, W25: 2); families 1.50, for the top 3 are mostly three reasons of the one
# credit-report family (the target at the family grain is not met: bench/RESULTS.md, "Quality on held-out
# parts").
def test_most_of_the_true_top_reasons_are_elected(weeks):
    s = summary(weeks)
    print(s)
    assert len(weeks) == 2
    assert s["mean_hits"] >= 2.0, [(q.week, q.truth, q.elected) for q in weeks]
    assert s["weeks_with_2_hits"] == 2, [(q.week, q.truth, q.elected) for q in weeks]


# Strict precision at the family grain (an alert is right when the complaint's own family is the majority
# family of the reason it was alerted for): 0.886 at recall 0.42 on the held-out weeks (seed 42); the floor
# bench/RESULTS.md grades is precision ≥ 0.8 at recall ≥ 0.4. Nothing alerts on a complaint the classifier
# missed, and every CFPB row is a complaint.
def test_alerts_name_the_right_complaint_family(family_weeks):
    s = summary(family_weeks)
    print(s)
    assert s["alert_precision"] >= 0.85, s
    assert s["alert_recall"] >= 0.4, s
    assert all(q.alerts > 0 for q in family_weeks)


# Every week has several reasons, and passes the shipped promotion gate on what falls in a reason
# (covered_share). In 2023-W25 one incoherent topic held 471 of 550 complaints: refused whole it left the week
# one reason, split (it holds over half the week) it gives 7–10 (seeds 42, 7, 2026).
def test_reasons_are_pure_and_no_catch_all_holds_the_week(weeks):
    assert summary(weeks)["purity"] >= 0.5
    _, gates = load_policy()
    for q in weeks:
        assert q.reasons >= 5, q
        assert q.covered >= gates.min_covered_share, q


# Alerting only close to a topic's centroid (at least 1.3 × the week's median topic coherence) trades recall for
# precision (docs/history/results-journal.md, section "Alerts: precision for recall"): measured on a held-out week
# here (W24, alerts on W25), on exact issues.
def test_alerting_close_to_the_centroid_trades_recall_for_precision(judged):
    weeks = ["2023-W24", "2023-W25"]
    default = _first_week(judged, weeks)
    strict = _first_week(judged, weeks, TopicModelParams(alert_coherence_ratio=1.3))
    print(default, strict, sep="\n")
    assert strict.alert_precision > default.alert_precision + 0.05
    assert 0 < strict.alerts < default.alerts and strict.alert_recall < default.alert_recall


# The next two tests pin down rules of the registry on real weeks, every complaint counting as labelled. They
# are behaviour, not floors, and read several weeks: which week shows a rule at work moves with float rounding
# of the embeddings (a single-process run and two workers embed the corpus apart; W25 alone, the week these
# tests used to read, showed the loose group in one and not in the other).
def _weeks(cfpb, weeks, registry):
    frame, embeddings = cfpb
    part = frame["week"].isin(weeks).to_numpy()
    policy, _ = load_policy()
    return evaluate_weeks(frame[part], embeddings[part], policy, registry=registry, stop_words=_stop_words(frame))


# Two rules for loose reasons (docs/history/results-journal.md, sections "Loose groups split back" and "Loose
# reasons do not alert"): loose groups split back into their topics (min_group_coherence_ratio) add reasons and
# precision; loose reasons left quiet as well (min_alert_coherence_ratio) are still elected but raise no alert.
# Measured on W22 and W23 (alerts on W23, W24): precision 0.636 → 0.732 with the split (this fixture's embeddings;
# 0.676 → 0.709 with bench/quality.py's, which embeds each part apart), and quiet moved it by −0.011 here and +0.047
# there: on these weeks what quiet buys in precision is within what float rounding moves, so only its behaviour is
# asserted.
def test_loose_groups_split_buy_precision_and_loose_reasons_stay_quiet(cfpb):
    weeks = ["2023-W22", "2023-W23", "2023-W24"]
    rules = RegistryParams(min_week_relative_coherence=None)  # the two rules alone (the week's bar: below)
    neither = _weeks(cfpb, weeks, replace(rules, min_group_coherence_ratio=None, min_alert_coherence_ratio=None))
    split = _weeks(cfpb, weeks, replace(rules, min_alert_coherence_ratio=None))
    both = _weeks(cfpb, weeks, rules)
    print(*neither, *split, *both, sep="\n")
    precision = {k: summary(v)["alert_precision"] for k, v in (("neither", neither), ("split", split), ("both", both))}
    print(precision)
    assert sum(q.reasons for q in split) > sum(q.reasons for q in neither)
    assert precision["neither"] < precision["split"]
    assert sum(q.quiet for q in both) >= 1 and sum(q.quiet for q in split) == 0
    assert [q.elected for q in both] == [q.elected for q in split]  # a quiet reason is still elected
    assert sum(q.alerts for q in both) < sum(q.alerts for q in split)  # … and raises no alert


# "Everything else" reasons of the small products (a little of every account, deposit and payment complaint) ranked
# in the top 3 when the week's credit-report complaints spread over several reasons; their messages sit no closer to
# their centre than the whole week's. Refused under 1.05 × the week's coherence (docs/history/results-journal.md,
# section "A reason sits tighter than the week"), the true issues they pushed out move up. Measured on W24 and W25
# with the partwise embeddings: without the bar W25 elects one at 1.03 × (hits 1); with it, 2 more refused, hits 2
# (mean hits 2.0 → 2.5).
def test_a_reason_no_tighter_than_the_week_is_refused_and_a_true_issue_moves_up(cfpb):
    weeks = ["2023-W24", "2023-W25", "2023-W26"]
    off = _weeks(cfpb, weeks, RegistryParams(min_week_relative_coherence=None))
    on = _weeks(cfpb, weeks, RegistryParams())
    print(*off, *on, sep="\n")
    bar = RegistryParams().min_week_relative_coherence
    loosest = {k: min(min(q.elected_week_coherence[:3]) for q in v) for k, v in (("off", off), ("on", on))}
    # measured on the messages themselves (not the registry's figure): what is elected is tighter than the week
    assert loosest["off"] < bar <= loosest["on"], loosest
    assert sum(q.refused for q in on) > sum(q.refused for q in off)
    assert summary(on)["mean_hits"] > summary(off)["mean_hits"]


# bench/ceiling.py: how far CFPB's exact issues can be told apart with the labels themselves (a supervised
# probe, bench/RESULTS.md, "Quality on held-out parts"): abstaining below a probability buys precision.
def test_the_supervised_ceiling_script_prints_precision_that_rises_as_it_abstains():
    import subprocess
    import sys

    from tests.support.paths import CFPB, require_shared

    require_shared(CFPB)
    out = subprocess.run(
        [sys.executable, "bench/ceiling.py", "--thresholds", "0,0.8"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["0.00", "0.80"], out.stdout
    (_, n_all, p_all, r_all), (_, n_sure, p_sure, r_sure) = rows
    assert int(n_sure) < int(n_all) and float(p_sure) > float(p_all) and float(r_sure) < float(r_all)
