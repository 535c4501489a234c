"""A message alerts on a seeded reason only when it reads like the seed (docs/seeded_reasons.md, "Alerts read like
the seed"): the check itself (reasons/topics/assign.py ``seed_confirms``), the artefact carrying it from the
registry's week (``with_reasons`` -> ``topics.json`` -> ``TopicArtifact.confirms``) and the live reasons the alert
job and the classify API judge with (reasons/live.py)."""

from __future__ import annotations

import json

import numpy as np

from flink.alerting import decide
from reasons.live import LiveReasons
from reasons.registry.model import ReasonMapping, RegistryParams, RegistryUpdate, Seed
from reasons.topics.artifact import TopicArtifact
from reasons.topics.assign import seed_confirms
from reasons.weekly.reason_ids import with_reasons
from tests.support.alert_doubles import NOW, RULE, TINY, KeywordEmbedder, features, message

SEED = Seed("S-app-crashes", "App crashes", (1.0, 0.0))


def test_a_message_is_confirmed_when_its_raw_embedding_is_close_enough_to_its_seed():
    embeddings = np.array([[3.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
    checks = [(np.array([2.0, 0.0]), 0.9), (np.array([1.0, 0.0]), 0.9), (np.array([1.0, 0.0]), 0.7), None]
    # cosines 1.0, 0.71, 0.71; the last message has no seed to read like: always confirmed
    assert seed_confirms(embeddings, checks).tolist() == [True, False, True, True]
    assert seed_confirms(np.zeros((0, 2)), []).tolist() == []


def week_meta(params: RegistryParams) -> dict:
    """A two-topic artefact of model v7 after the registry's week: topic 3 went to the seed's reason, topic 5 to
    an ordinary one, written to ``topics.json`` and read back as the alert job does."""
    topic = lambda tid, emb: {"topic_id": tid, "label": f"t{tid}", "keywords": [], "size": 9, "embedding": emb}
    meta = {
        "format_version": 1,
        "model_version": "v7",
        "week": "2026-W10",
        "embedding_model": "test",
        "min_similarity": 0.1,
        "center": None,
        "topics": [topic(3, [1.0, 0.5]) | {"alert_similarity": 0.5}, topic(5, [0.0, 1.0])],
    }
    mappings = (ReasonMapping(3, SEED.reason_id, 1.0, "born"), ReasonMapping(5, "R0001", 1.0, "born"))
    upd = RegistryUpdate("2026-W10", (), mappings, ())
    return json.loads(json.dumps(with_reasons(meta, upd, {SEED.reason_id: SEED.name}, params)))


def test_the_artefact_carries_the_seed_check_of_the_weeks_seeded_reasons_only():
    other = Seed("S-prices", "Prices", (0.0, 1.0))  # matched no topic this week: nothing to carry
    meta = week_meta(RegistryParams(seeds=(SEED, other), seed_alert_similarity=0.9))
    assert meta["seed_checks"] == {SEED.reason_id: {"embedding": [1.0, 0.0], "min_similarity": 0.9}}
    artifact = TopicArtifact(path=None, meta=meta)  # type: ignore[arg-type]
    embeddings = np.array([[1.0, 0.1], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    # on the seeded reason's topic 3 only the message that reads like the seed; topic 5 and outliers always
    assert artifact.confirms([3, 3, 5, -1], embeddings).tolist() == [True, False, True, True]
    unchecked = TopicArtifact(path=None, meta=week_meta(RegistryParams(seeds=(SEED,))))  # type: ignore[arg-type]
    assert unchecked.confirms([3, 3], embeddings[:2]).tolist() == [True, True]


def live(params: RegistryParams) -> LiveReasons:
    model = TopicArtifact(path=None, meta=week_meta(params), embedder=KeywordEmbedder())  # type: ignore[arg-type]
    election = {SEED.reason_id: features(True), "R0001": features(False, label="prices", rank=2)}
    return LiveReasons(model=model, path=None, election=election, dissatisfaction=TINY)  # type: ignore[arg-type]


def test_the_live_reasons_alert_on_a_seeded_reason_only_for_messages_that_read_like_the_seed():
    texts = ["the app crash again, awful", "the app crash again and the price, awful"]  # [1, 0] and [1, 1]
    gated = live(RegistryParams(seeds=(SEED,), seed_alert_similarity=0.9)).classify(texts, [None, None], RULE, NOW)
    # both are the seeded reason's, within its topic's core by their cosine to its centroid (0.89 and 0.95) ...
    assert [(v.reason_id, v.dissatisfied, v.elected) for v in gated] == [(SEED.reason_id, True, True)] * 2
    # ... but the second sits at 0.71 to the seed: classified, no alert, and the alert job raises none
    assert [v.alerts for v in gated] == [True, False]
    assert decide(message(texts[0]), gated[0], NOW) is not None
    assert decide(message(texts[1]), gated[1], NOW) is None
    ungated = live(RegistryParams(seeds=(SEED,))).classify(texts, [None, None], RULE, NOW)
    assert [v.alerts for v in ungated] == [True, True]
