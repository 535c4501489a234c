"""Which topic of a weekly model a message belongs to, and a fitted topic's provisional reason id. Pure.

A message is assigned to the topic whose centroid is the most cosine-similar to its embedding (after removing
the fit's mean embedding), or to the outlier topic below the model's ``min_similarity``. The model on disk
that supplies centroids and similarity is :mod:`reasons.topics.artifact`.
"""

from __future__ import annotations

import numpy as np

from reasons.embedding.vectors import normalize
from reasons.topics.params import OUTLIER, Assignment


def nearest_topics(
    embeddings: np.ndarray,
    centroids: np.ndarray,
    topic_ids: np.ndarray,
    min_similarity: float,
    center: np.ndarray | None = None,
) -> list[Assignment]:
    """Each embedding's nearest topic by cosine to the unit ``centroids`` (after removing ``center``, the
    fit's mean embedding); OUTLIER below ``min_similarity``."""
    if len(embeddings) == 0:
        return []
    if len(topic_ids) == 0:
        return [Assignment(OUTLIER, 0.0) for _ in range(len(embeddings))]
    x = normalize(np.asarray(embeddings, dtype=np.float32))
    if center is not None:
        x = normalize(x - center)
    sims = x @ centroids.T
    best = sims.argmax(axis=1)
    return [
        Assignment(int(topic_ids[b]) if s[b] >= min_similarity else OUTLIER, float(s[b])) for b, s in zip(best, sims)
    ]


def reason_id(model_version: str, topic_id: int) -> str:
    """The provisional reason id ``<model_version>/<topic_id>`` of a fitted topic, until the reason registry
    (:mod:`reasons.registry`) maps it to a stable one."""
    return f"{model_version}/{int(topic_id)}"
