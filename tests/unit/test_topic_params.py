"""Fast checks of the topic model's pure helpers (the BERTopic fit itself is in test_topic_model.py)."""

import numpy as np
import pytest

from reasons.topics.artifact import TopicArtifact, reason_id
from reasons.topics.fit import fit_topics, model_version_for
from reasons.topics.labels import keyword_label as _label
from reasons.topics.params import OUTLIER, CorpusTooSmallError, TopicModelParams


def test_sizes_scale_with_the_corpus():
    p = TopicModelParams()
    assert p.for_corpus(300).min_topic_size == 9  # 3%
    assert p.for_corpus(100).min_topic_size == 5  # floor
    assert p.for_corpus(100_000).min_topic_size == 15  # ceiling
    assert p.for_corpus(300).min_samples == 4
    small = p.for_corpus(8)
    assert small.n_neighbors == 7 and small.n_components == 5
    assert p.for_corpus(3080).n_neighbors == 30
    assert TopicModelParams(min_topic_size=25).for_corpus(600).min_topic_size == 25
    assert TopicModelParams(assign_min_similarity=0.2).min_similarity == 0.2
    assert TopicModelParams(assign_min_similarity=None).min_similarity == p.outlier_threshold


def test_model_version_is_week_plus_hash_of_corpus_params_and_model():
    v = model_version_for("2026-W46", ["crm/1", "crm/2"], TopicModelParams())
    assert v.startswith("2026-W46-") and len(v) == len("2026-W46-") + 8
    assert v == model_version_for("2026-W46", ["crm/2", "crm/1"], TopicModelParams())
    assert v != model_version_for("2026-W46", ["crm/1"], TopicModelParams())
    assert v != model_version_for("2026-W46", ["crm/1", "crm/2"], TopicModelParams(seed=1))
    assert v != model_version_for("2026-W46", ["crm/1", "crm/2"], TopicModelParams(), embedding_model="other")
    with pytest.raises(ValueError):
        model_version_for("2026-46", [], TopicModelParams())
    assert reason_id(v, 3) == f"{v}/3"


def test_labels_are_distinct_keywords_and_unique():
    used: set[str] = set()
    assert _label(("fee", "fees", "charged", "bill"), 3, used, 0) == "fee charged bill"
    assert _label(("fee", "charged", "bill", "invoice"), 3, used, 1) == "fee charged bill invoice"
    assert _label(("fee", "charged", "bill"), 3, used, 2) == "fee charged bill #2"


def test_too_small_a_week_is_refused():
    with pytest.raises(CorpusTooSmallError):
        fit_topics(["a"] * 5, np.zeros((5, 4)), TopicModelParams())


class _FakeEmbedder:
    def encode(self, sentences, batch_size=32, **kwargs):
        return np.array(
            [[1.0, 0.0] if "card" in s else [0.0, 1.0] if "refund" in s else [-0.6, -0.8] for s in sentences]
        )


def test_artifact_assigns_by_cosine_with_an_injected_embedder():
    meta = {
        "format_version": 1,
        "model_version": "2026-W46-abc",
        "week": "2026-W46",
        "embedding_model": "fake",
        "min_similarity": 0.5,
        "topics": [
            {"topic_id": 0, "label": "card declined", "keywords": ["card"], "size": 3, "embedding": [2.0, 0.1]},
            {"topic_id": 1, "label": "refund late", "keywords": ["refund"], "size": 2, "embedding": [0.0, 1.0]},
        ],
    }
    artifact = TopicArtifact(path=None, meta=meta, embedder=_FakeEmbedder())
    got = artifact.assign(["my card", "my refund", "something else"])
    assert [a.topic_id for a in got] == [0, 1, OUTLIER]
    assert got[0].similarity == pytest.approx(2.0 / np.hypot(2.0, 0.1), abs=1e-6)
    assert artifact.label(0) == "card declined" and artifact.label(OUTLIER) == "(outliers)"
    assert artifact.reason_id(1) == "2026-W46-abc/1" and artifact.assign([]) == []


def test_assignment_removes_the_fits_centre_and_alerts_need_the_topics_core():
    from reasons.topics.artifact import nearest_topics

    # every vector shares a strong domain direction (axis 0); the reasons differ on axes 1 and 2
    domain = np.array([3.0, 0.0, 0.0])
    centroids = np.array([[0.0, 1.0, 0.2], [0.0, 0.2, 1.0]])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    message = domain + np.array([0.0, 0.3, 0.5])  # closer to reason 1 once the domain is removed
    raw = nearest_topics(message[None], centroids, np.array([0, 1]), 0.0)
    center = np.array([0.95, 0.0, 0.0])  # the fit's mean of unit embeddings: nearly the domain direction
    centred = nearest_topics(message[None], centroids, np.array([0, 1]), 0.0, center=center)
    assert centred[0].topic_id == 1 and centred[0].similarity > 0.9 > raw[0].similarity
    meta = {
        "format_version": 1,
        "model_version": "2026-W46-abc",
        "week": "2026-W46",
        "embedding_model": "fake",
        "min_similarity": 0.2,
        "center": list(center),
        "topics": [
            {
                "topic_id": 0,
                "label": "a",
                "keywords": [],
                "size": 3,
                "embedding": list(centroids[0]),
                "alert_similarity": 0.7,
            },
            {"topic_id": 1, "label": "b", "keywords": [], "size": 3, "embedding": list(centroids[1])},
        ],
    }
    artifact = TopicArtifact(path=None, meta=meta)
    assert artifact.assign_embeddings(message[None])[0].topic_id == 1
    assert artifact.alert_similarity(0) == 0.7 and artifact.alert_similarity(1) == 0.2  # default: min_similarity
    # the registry marked topic 0's reason too loose to alert on: no similarity reaches its bar
    meta["topics"][0]["alerts"] = False
    assert TopicArtifact(path=None, meta=meta).alert_similarity(0) > 1.0


def test_alerts_need_a_topics_core_and_optionally_a_share_of_the_weeks_median_coherence():
    from reasons.topics.fit import _alert_similarities
    from reasons.topics.params import FitResult, ResolvedParams, Topic

    # three tight topics (members at 0.8–0.9 of their centroid) and a loose one (0.3–0.6)
    sims = {0: [0.8, 0.85, 0.9, 0.9], 1: [0.8, 0.85, 0.9, 0.9], 2: [0.8, 0.85, 0.9, 0.9], 3: [0.3, 0.4, 0.5, 0.6]}
    fit = FitResult(
        model=None,
        params=TopicModelParams(assign_min_similarity=0.4),
        resolved=ResolvedParams(5, 2, 5, 5),
        topics=tuple(Topic(t, f"t{t}", (), 4) for t in sims),
        doc_topics=np.repeat(list(sims), 4),
        doc_similarities=np.concatenate(list(sims.values())),
        topic_embeddings=np.eye(4),
    )
    core = _alert_similarities(fit, 0.25, None)
    assert core == pytest.approx([0.8375, 0.8375, 0.8375, 0.4])  # the 25th percentile, at least 0.4
    median = np.median([np.mean(v) for v in sims.values()])  # 0.8625
    strict = _alert_similarities(fit, 0.25, 0.8)
    # the loose topic's bar rises to 0.8 × the median coherence; the tight ones' cores are above it already
    assert strict == pytest.approx([0.8375, 0.8375, 0.8375, round(0.8 * median, 6)])
