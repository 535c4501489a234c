"""Personal-data redaction (pure) on a generated, labelled corpus: recall per kind, ordinary text kept."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from reasons.pii import KINDS, find_pii, redact, redact_all
from tests.support.pii_corpus import corpus

RECALL_FLOOR = 0.95


def test_recall_per_kind_on_the_generated_corpus() -> None:
    found, total = Counter(), Counter()
    for sample in corpus(per_kind=100):
        if sample.kind is None:
            continue
        total[sample.kind] += 1
        out = redact(sample.text)
        found[sample.kind] += sample.value not in out and f"<{sample.kind}>" in out
    assert set(total) == set(KINDS)
    recall = {kind: found[kind] / total[kind] for kind in total}
    assert all(r >= RECALL_FLOOR for r in recall.values()), recall


def test_ordinary_numbers_and_words_are_never_redacted() -> None:
    ordinary = [s.text for s in corpus(per_kind=0)]
    assert len(ordinary) >= 10
    assert redact_all(ordinary) == ordinary
    assert redact("the app keeps crashing since the update") == "the app keeps crashing since the update"


def test_each_kind_gets_its_placeholder() -> None:
    text = (
        "mail jo.smith@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111, "
        "IBAN DE89 3704 0044 0532 0130 00, from 10.1.2.3."
    )
    assert redact(text) == "mail <EMAIL>, call <PHONE>, card <CARD>, IBAN <IBAN>, from <IP>."
    assert [s.kind for s in find_pii(text)] == ["EMAIL", "PHONE", "CARD", "IBAN", "IP"]


def test_checked_kinds_win_over_a_plausible_phone_number() -> None:
    # a Luhn-valid card is also a plausible phone number in some region; an international phone
    # number whose digits happen to pass Luhn is not a card (it follows a "+")
    assert redact("card 4905287549537869 charged") == "card <CARD> charged"
    assert redact("call +49 1515 6392180 now") == "call <PHONE> now"
    assert redact("None") == "None" and redact_all([None, "x"]) == [None, "x"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_fails_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    spans = find_pii(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in pairwise(spans))
