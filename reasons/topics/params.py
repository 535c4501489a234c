"""Parameters and results of the weekly topic fit (no heavy imports: the streaming job loads this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

OUTLIER = -1
OUTLIER_LABEL = "(outliers)"


class CorpusTooSmallError(ValueError):
    """The week has too few messages for a meaningful topic fit."""


@dataclass(frozen=True)
class TopicModelParams:
    """Parameters of the weekly fit. Sizes that depend on the corpus are resolved by ``for_corpus``."""

    seed: int = 42
    # HDBSCAN min_cluster_size; None → ``min_topic_share`` of the corpus, clamped to [floor, ceiling].
    # Tuned on Banking77 (3,080 texts, 77 intents of ~40) and the synthetic weeks: see bench/RESULTS.md.
    min_topic_size: int | None = None
    min_topic_share: float = 0.03
    min_topic_floor: int = 5
    min_topic_ceiling: int = 15
    # HDBSCAN min_samples; None → half the min topic size (fewer outliers than HDBSCAN's default).
    min_samples: int | None = None
    umap_n_neighbors: int = 30
    umap_n_components: int = 5
    umap_min_dist: float = 0.0
    # Topics whose centroids are at least this cosine-similar (average linkage) are merged into one issue
    # kind, so a surging issue worded many ways does not split its votes over near-duplicate topics (None: off).
    merge_similarity: float | None = 0.8
    merge_linkage: str = "average"  # of the centroid clustering: "average", "complete" or "single"
    # Outliers whose embedding is at least this cosine-similar to a topic centroid join that topic.
    outlier_threshold: float = 0.4
    # Below this similarity ``TopicArtifact.assign`` answers the outlier topic (None → outlier_threshold).
    assign_min_similarity: float | None = None
    top_n_words: int = 10
    label_words: int = 3
    min_documents: int = 30
    embed_batch_size: int = 128
    # Large weeks: fit on a seeded sample of this many messages, assign the rest to the nearest topic centroid
    # (below ``outlier_threshold`` → outlier), then recompute centroids over all. None: fit every message.
    # 20,000 keeps the non-embedding time of a 100k week under half the embedding time at no measured
    # quality cost (bench/RESULTS.md, "Fit benchmark"); smaller weeks fit whole.
    fit_sample: int | None = 20_000

    def samples(self, n: int) -> bool:
        """Whether a week of ``n`` messages is fit on a sample (more than ``fit_sample`` of them)."""
        return self.fit_sample is not None and n > self.fit_sample

    def for_corpus(self, n: int) -> ResolvedParams:
        mts = self.min_topic_size or int(
            np.clip(round(n * self.min_topic_share), self.min_topic_floor, self.min_topic_ceiling)
        )
        return ResolvedParams(
            min_topic_size=mts,
            min_samples=self.min_samples or max(2, mts // 2),
            n_neighbors=int(max(2, min(self.umap_n_neighbors, n - 1))),
            n_components=int(max(2, min(self.umap_n_components, n - 2))),
        )

    @property
    def min_similarity(self) -> float:
        return self.outlier_threshold if self.assign_min_similarity is None else self.assign_min_similarity


@dataclass(frozen=True)
class ResolvedParams:
    min_topic_size: int
    min_samples: int
    n_neighbors: int
    n_components: int


@dataclass(frozen=True)
class Topic:
    topic_id: int
    label: str
    keywords: tuple[str, ...]
    size: int


@dataclass(frozen=True)
class FitResult:
    """A fitted weekly model. ``topics`` excludes the outlier topic; arrays follow the input order."""

    model: Any  # bertopic.BERTopic
    params: TopicModelParams
    resolved: ResolvedParams
    topics: tuple[Topic, ...]
    doc_topics: np.ndarray  # int, OUTLIER for messages left out
    doc_similarities: np.ndarray  # cosine of each message to its topic centroid (to the best one for outliers)
    topic_embeddings: np.ndarray  # unit centroids, rows aligned with ``topics``

    @property
    def n_documents(self) -> int:
        return len(self.doc_topics)

    @property
    def outlier_share(self) -> float:
        return float(np.mean(self.doc_topics == OUTLIER)) if len(self.doc_topics) else 0.0

    def labels(self) -> dict[int, str]:
        return {t.topic_id: t.label for t in self.topics} | {OUTLIER: OUTLIER_LABEL}


@dataclass(frozen=True)
class Assignment:
    topic_id: int
    similarity: float
