"""The live reasons: hot reload on promotion (model and election swapped together), a missing or
corrupt online store keeps the last known election, staleness, and what gets embedded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reasons.live import LiveReasons, LiveWatcher, NoLiveModelError
from tests.support.alert_doubles import NOW, RULE, TINY, EmbeddingModel, Lookup, Model, Promotions, election


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def watcher(promotions: Promotions, lookup: Lookup, said: list[str] | None = None, clock: Clock | None = None):
    return LiveWatcher(
        promotions.pointer,
        promotions.load,
        lookup,
        poll_s=5.0,
        clock=clock or Clock(),
        say=(said if said is not None else []).append,
    )


def test_a_promotion_swaps_model_and_election_together_once_both_are_there():
    v7, v8 = Model("v7", "2026-W10"), Model("v8", "2026-W11")
    promotions, lookup, clock, said = Promotions(v7), Lookup(election("v7")), Clock(), []
    w = watcher(promotions, lookup, said, clock)
    assert w.current().model_version == "v7" and [r["reason_id"] for r in w.current().elected()] == ["v7/3"]

    promotions.promote(v8)  # the pointer moved, the online store still holds v7's election
    clock.t = 5.0
    assert w.current().model_version == "v7"  # never v8 judged with v7's election
    lookup.features.update(election("v8", "2026-W11"))
    clock.t = 7.0
    assert w.current().model_version == "v7"  # not polled again before poll_s
    clock.t = 10.0
    live = w.current()
    assert (live.model_version, live.week, list(live.election)) == ("v8", "2026-W11", ["v8/3", "v8/5"])
    assert w.counts.reloads == 1 and said == ["live reasons reloaded: v7 (2026-W10) -> v8 (2026-W11), 1 elected"]


def test_a_new_election_of_the_same_model_is_picked_up():
    promotions, lookup, clock = Promotions(Model()), Lookup(election()), Clock()
    w = watcher(promotions, lookup, clock=clock)
    assert w.current().election["v7/5"]["elected"] is False
    lookup.features["v7/5"] = {**lookup.features["v7/5"], "elected": True}
    clock.t = 5.0
    assert w.current().election["v7/5"]["elected"] is True and w.counts.reloads == 1


def test_an_unreadable_online_store_keeps_the_last_election_and_says_so_once():
    promotions, lookup, clock, said = Promotions(Model()), Lookup(election()), Clock(), []
    w = watcher(promotions, lookup, said, clock)
    before = w.current()
    lookup.broken = True
    for t in (5.0, 10.0, 15.0):
        clock.t = t
        assert w.current() is before
    assert w.counts.lookup_errors == 3
    assert said == [
        "online store unreadable (OSError: online.db: file is not a database); keeping the election of 2026-W10 (v7)"
    ]


def test_nothing_live_is_a_clear_error():
    with pytest.raises(NoLiveModelError, match="run a week first"):
        watcher(Promotions(), Lookup({})).current()
    lookup = Lookup(election())
    lookup.broken = True
    with pytest.raises(NoLiveModelError, match="online store unreadable"):
        watcher(Promotions(Model()), lookup).current()


def test_a_corrupt_promoted_model_keeps_the_live_one():
    v7 = Model()
    promotions, clock, said = Promotions(v7), Clock(), []
    w = watcher(promotions, Lookup(election()), said, clock)
    w.current()
    promotions.current = promotions.current.with_name("broken")  # load() raises KeyError
    clock.t = 5.0
    assert w.current().model_version == "v7" and said and "cannot load the promoted model" in said[0]


def test_a_stale_election_classifies_but_elects_nothing_and_is_told_once():
    live = LiveReasons(model=EmbeddingModel(), path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    fresh = live.classify(["the app crash again, awful"], [None], RULE, NOW)[0]
    assert fresh.elected and not fresh.stale and fresh.reason_id == "v7/3" and fresh.label == "app crashes"
    later = NOW + timedelta(days=30)
    assert live.valid_until == datetime(2026, 3, 30, tzinfo=UTC) and live.stale(later)
    stale = live.classify(["the app crash again, awful"], [None], RULE, later)[0]
    assert stale.stale and stale.reason_id == "v7/3"
    w = watcher(Promotions(Model()), Lookup(election()))
    w.current()
    assert w.stale_notice(NOW) is None
    assert "is stale since 2026-03-30" in w.stale_notice(later)
    assert w.stale_notice(later) is None


def test_every_message_is_embedded_once_and_only_dissatisfied_ones_are_assigned():
    model = EmbeddingModel()
    live = LiveReasons(model=model, path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    texts = ["love the new app, great work", "the app crash again, awful", "prices are too high", "ok, crash"]
    verdicts = live.classify(texts, [None, None, 1, 5], RULE, NOW)
    assert model.embedder.batches == [texts] and model.embedded == []  # one batch, never re-embedded
    assert model.assigned == [[1.0, 0.0], [0.0, 1.0]]  # the two dissatisfied messages only
    assert [v.dissatisfied for v in verdicts] == [False, True, True, False]  # the ratings win
    assert [v.reason_id for v in verdicts] == [None, "v7/3", "v7/5", None]
    assert [v.elected for v in verdicts] == [False, True, False, False]
    assert verdicts[1].dissatisfaction > TINY.threshold > verdicts[0].dissatisfaction
    assert verdicts[0].sentiment > 0 > verdicts[1].sentiment
    assert live.classify([], [], RULE, NOW) == [] and len(model.embedder.batches) == 1


def test_the_watcher_hands_its_classifier_to_the_live_reasons():
    promotions = Promotions(EmbeddingModel())
    w = LiveWatcher(promotions.pointer, promotions.load, Lookup(election()))
    assert w.current().dissatisfaction is None  # the committed classifier
    w = LiveWatcher(promotions.pointer, promotions.load, Lookup(election()), dissatisfaction=TINY)
    assert w.current().dissatisfaction is TINY


def test_a_message_counted_dissatisfied_on_a_close_call_raises_no_alert():
    live = LiveReasons(model=EmbeddingModel(), path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    text = ["the app crash again, awful"]
    sure = live.classify(text, [None], RULE, NOW)[0]
    assert sure.dissatisfied and sure.sure and sure.alerts
    close = live.classify(text, [None], replace(RULE, alert_threshold=0.999), NOW)[0]
    assert close.dissatisfied and close.elected and close.core and not close.sure and not close.alerts
    rated = live.classify(text, [1], replace(RULE, alert_threshold=0.999), NOW)[0]
    assert rated.sure and rated.alerts  # a rating decides
