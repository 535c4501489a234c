"""Phrase labels (pure): candidate phrases of a topic's messages, their re-ranking, uniqueness."""

from __future__ import annotations

import numpy as np
import pytest

from reasons.topics.labels import PhraseParams, phrase_candidates, phrase_label, rerank_by_embedding

HOLD = [
    "Acme support kept me on hold for hours and nobody answered",
    "on hold for hours again, the line went dead",
    "kept on hold for hours then disconnected",
    "Acme support: on hold for 45 minutes, still waiting",
    "Acme support has me on hold for hours every time I call",
]
DECLINED = [
    "my card payment was declined at the shop",
    "card payment declined twice today",
    "why was my card payment declined?",
    "the card payment got declined at Acme again",
    "another card payment declined, so embarrassing",
]


def _topics() -> tuple[list[str], np.ndarray]:
    return HOLD + DECLINED, np.array([0] * len(HOLD) + [1] * len(DECLINED))


def test_each_topic_gets_its_own_distinctive_phrase() -> None:
    texts, topics = _topics()
    got = phrase_candidates(texts, topics, [0, 1])
    assert got[0][0][0] == "hold for hours"
    assert got[1][0][0] == "card payment declined"
    # no phrase opens or closes with a function word or a contraction, none is in the other topic's list
    for phrases in got.values():
        for phrase, score in phrases:
            words = phrase.split()
            assert words[0] not in {"on", "for", "the", "was", "my"} and words[-1] not in {"for", "the", "was"}
            assert score > 0
    assert not {p for p, _ in got[0]} & {p for p, _ in got[1]}


def test_brand_names_never_appear_in_a_phrase() -> None:
    texts, topics = _topics()
    got = phrase_candidates(texts, topics, [0, 1], stop_words=["Acme"])
    assert all("acme" not in phrase for phrases in got.values() for phrase, _ in phrases)
    with_brand = phrase_candidates(texts, topics, [0, 1])
    assert any("acme" in phrase for phrases in with_brand.values() for phrase, _ in phrases)


def test_a_phrase_must_recur_in_the_topic() -> None:
    texts, topics = _topics()
    rare = phrase_candidates(texts, topics, [0, 1], params=PhraseParams(min_count=6))
    assert rare == {0: [], 1: []}
    assert phrase_candidates(["one text"] * 3, np.array([0, 0, 0]), [0]) == {0: []}  # nothing of 2+ words


def test_a_phrase_never_spans_a_sentence_break() -> None:
    # the demo's synthetic reviews open with a rating and its shipping complaints end a sentence with "late"
    texts = [f"One star: card payment failed {k}. The courier was late. The courier lost it" for k in "abcde"]
    got = {p for p, _ in phrase_candidates(texts + DECLINED, np.array([0] * 5 + [1] * 5), [0, 1])[0]}
    assert {"card payment failed", "courier was late"} <= got
    assert not {p for p in got if "star card" in p or "late the" in p or "failed the" in p}


@pytest.mark.parametrize(
    ("text", "filler"),
    [
        ("my credit card keeps getting declined", {"keeps", "getting"}),
        ("please remove the following inaccurate items", {"following"}),
    ],
)
def test_a_phrase_does_not_open_or_close_on_filler(text: str, filler: set[str]) -> None:
    texts = [f"{text} {k}" for k in ("aa", "bb", "cc", "dd", "ee")]
    got = [p for p, _ in phrase_candidates(texts + HOLD, np.array([0] * 5 + [1] * 5), [0, 1])[0]]
    assert got and not [p for p in got if {p.split()[0], p.split()[-1]} & filler], got


def test_a_phrase_inside_a_better_one_is_dropped() -> None:
    texts, topics = _topics()
    phrases = [p for p, _ in phrase_candidates(texts, topics, [0, 1])[1]]
    assert "card payment declined" in phrases and "payment declined" not in phrases


def test_rerank_puts_the_phrase_nearest_the_centroid_first() -> None:
    vectors = {"a b": [1.0, 0.0], "c d": [0.0, 1.0], "e f": [0.6, 0.8]}

    def embed(texts: list[str]) -> np.ndarray:
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    assert rerank_by_embedding(["a b", "c d", "e f"], np.array([0.0, 1.0]), embed) == ["c d", "e f", "a b"]
    # centred like the fit: the shared direction removed first
    centred = rerank_by_embedding(["a b", "e f"], np.array([1.0, 0.0]), embed, center=np.array([0.0, 0.8]))
    assert centred[0] == "e f"
    assert rerank_by_embedding([], np.array([1.0, 0.0]), embed) == []


def test_labels_are_unique_and_fall_back_to_keywords() -> None:
    used: set[str] = set()
    assert phrase_label(["card payment declined"], ("card", "declined"), 2, used, 0) == "card payment declined"
    assert phrase_label(["card payment declined", "payment refused"], (), 2, used, 1) == "payment refused"
    assert phrase_label(["card payment declined"], ("refund", "late", "money"), 2, used, 2) == "refund late"


def test_a_label_names_an_issue_when_they_share_a_content_word() -> None:
    from reasons.naming import names_issue

    assert names_issue("card was declined", "declined_card_payment")
    assert names_issue("fee for withdrawing", "cash_withdrawal_charge")  # inflections of one word
    assert names_issue("extra fees", "extra_charge_on_statement")
    assert not names_issue("apple watch", "card_arrival")
    assert not names_issue("transfer", "transaction")  # a common start is not enough
    assert not names_issue("on my report", "Improper use of your report".replace("report", "file"))


def test_label_naming_compares_the_fit_labels_with_keyword_labels() -> None:
    import pandas as pd

    from reasons.naming import label_naming
    from reasons.topics.params import FitResult, ResolvedParams, Topic, TopicModelParams

    topics = (
        Topic(0, "card payment declined", ("payment", "shop", "refused"), 2),
        Topic(1, "hold for hours", ("hours", "line", "dead"), 2),
    )
    fit = FitResult(
        model=None,
        params=TopicModelParams(label_words=2),
        resolved=ResolvedParams(5, 2, 5, 5),
        topics=topics,
        doc_topics=np.array([0, 0, 1, 1]),
        doc_similarities=np.ones(4),
        topic_embeddings=np.eye(2),
    )
    truth = pd.Series(["declined_card_payment", "declined_card_payment", "phone_wait", "long_hold_times"])
    got = label_naming(fit, truth)
    # both labellings name the first topic's issue; the second's majority ("phone_wait", first of a tie) neither
    assert got == {"labels": 0.5, "keywords": 0.5}
    truth = pd.Series(["declined_card_payment"] * 2 + ["long_hold_times"] * 2)
    assert label_naming(fit, truth) == {"labels": 1.0, "keywords": 0.5}  # "hours line" misses "long_hold_times"


def test_reason_naming_reads_each_reasons_label_against_its_dissatisfied_majority() -> None:
    from reasons.naming import reason_naming

    labels = {"R1": "damaged packaging", "R2": "late parcel", "R3": "good quality"}
    majorities = {"R1": "packaging", "R2": "service", "R3": "quality", "not_a_reason": "fabric"}
    assert reason_naming(labels, majorities) == 0.5  # R1 and R3 named; R2 not; the unlabelled one names nothing
    assert reason_naming(labels, {"R1": "packaging"}) == 1.0
    assert np.isnan(reason_naming(labels, {}))


def test_a_negation_opens_what_went_wrong_but_closes_nothing() -> None:
    quality = [
        "not good quality, the stitching came apart",
        "sad, not good quality at all",
        "honestly not good quality for the price",
        "the cloth is not good quality",
    ]
    praise = ["good quality and fast delivery", "good quality, love it", "really good quality", "good quality shirt"]
    got = phrase_candidates(quality + praise, np.array([0] * 4 + [1] * 4), [0, 1])
    assert got[0][0][0] == "not good quality"  # a complaint about quality does not read "good quality"
    assert all(p.split()[-1] not in {"not", "no", "never", "too"} for ps in got.values() for p, _ in ps)


def test_a_topic_of_praise_and_complaints_is_labelled_by_what_went_wrong() -> None:
    from reasons.topics.labels import problem_phrase_candidates

    praise = [f"comfortable to wear all day, size {n}" for n in range(6)]
    complaints = ["the stitching came apart after one wash", "stitching came apart, cheap cloth"]
    other = ["the battery drains overnight", "battery drains fast", "battery drains in hours"]
    texts = praise + complaints + other
    topics = np.array([0] * 8 + [1] * 3)
    unhappy = np.array([False] * 6 + [True] * 5)
    assert phrase_candidates(texts, topics, [0, 1])[0][0][0] == "comfortable to wear"  # what most of it says
    got = problem_phrase_candidates(texts, topics, [0, 1], label_rows=unhappy)
    assert got[0][0][0] == "stitching came apart" and got[1][0][0] == "battery drains"
    # no dissatisfied message in a topic, or every message dissatisfied: phrases of all its messages
    assert problem_phrase_candidates(texts, topics, [0, 1], label_rows=np.zeros(11, bool))[0][0][0] == (
        "comfortable to wear"
    )
    assert problem_phrase_candidates(texts, topics, [0, 1], label_rows=None) == phrase_candidates(texts, topics, [0, 1])
