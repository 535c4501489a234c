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
    # Tuned on Banking77 (3,080 texts, 77 intents of ~40) and the synthetic weeks, re-checked on Banking77's
    # train.csv: bench/RESULTS.md, "Tuned defaults and why".
    min_topic_size: int | None = None
    min_topic_share: float = 0.03
    min_topic_floor: int = 5
    min_topic_ceiling: int = 15
    # HDBSCAN min_samples; None → half the min topic size (fewer outliers than HDBSCAN's default).
    min_samples: int | None = None
    umap_n_neighbors: int = 30
    umap_n_components: int = 5
    umap_min_dist: float = 0.0
    # UMAP's initial layout: "pca" gives the same layout on every fit of the same week; UMAP's default "spectral"
    # does not where the neighbour graph has small parts (scipy's eigensolver returns another basis of a repeated
    # eigenvalue each call); "random" is reproducible too (docs/history/results-journal.md, section "Reproducible
    # fits")
    umap_init: str = "pca"
    # Topics whose centroids are at least this cosine-similar (average linkage) are merged into one issue
    # kind, so a surging issue worded many ways does not split its votes over near-duplicate topics (None: off).
    merge_similarity: float | None = 0.8
    merge_linkage: str = "average"  # of the centroid clustering: "average", "complete" or "single"
    # A catch-all topic (its messages' mean cosine to its centroid under this × the week's median topic
    # coherence, :func:`coherence_floor`: the registry's ``min_coherence_ratio`` rule) that holds at least
    # ``split_min_share`` of the week is clustered again on its own messages: the topics found there replace
    # it, what they leave stays in it (the registry refuses it if it is still a catch-all). Refused whole, it
    # would leave most of the week in no reason (CFPB's 2023-W25: one topic of 471 of 550 complaints, the
    # week's one reason a template letter). Smaller catch-alls are refused, not split: their pieces were
    # less pure and lowered the alerts' precision (docs/history/results-journal.md, section "Catch-alls split").
    # None: never split.
    split_coherence_ratio: float | None = 0.7
    split_min_share: float = 0.5
    # Outliers whose embedding is at least this cosine-similar to a topic centroid join that topic.
    outlier_threshold: float = 0.4
    # Below this similarity ``TopicArtifact.assign`` answers the outlier topic (None → outlier_threshold): a
    # streamed message nearer a topic than this may alert on it. Chosen on the development parts (CFPB, product
    # reviews): 0.35 gave the most recall for at most 0.01 of precision among 0.3, 0.35, 0.4 and 0.5
    # (docs/history/results-journal.md, section "Seventeenth session").
    assign_min_similarity: float | None = 0.35
    # Remove the week's mean embedding before clustering and assigning. In one domain every message shares
    # a large common direction ("a complaint about a bank"); what is left separates reasons, not brands or
    # the domain (docs/history/results-journal.md, section "Reasons on real complaints"). The mean is kept in the
    # artefact.
    center_embeddings: bool = True
    # Words kept out of keywords and labels besides English stop words: brand and product names, the
    # domain's filler. The fit adds the brand names it finds in the week (see ``reasons.text.brand_terms``).
    stop_words: tuple[str, ...] = ()
    # A message alerts on its topic only if its cosine to the centroid reaches this quantile of the topic's
    # own members' cosines (the topic's core, not its fringe); 0 → only ``min_similarity`` applies. Chosen on
    # the development parts (CFPB, product reviews): 0 gave the same or better precision and more recall than
    # 0.1, 0.25 and 0.4 (docs/history/results-journal.md, section "Seventeenth session").
    alert_quantile: float = 0.0
    # ... and at least this × the week's median topic coherence (:func:`coherence_floor`): in a loose topic
    # even the core is loose, and its alerts name the wrong issue more often. None: no such floor.
    alert_coherence_ratio: float | None = None
    top_n_words: int = 10
    label_words: int = 3
    # Labels as short phrases of the topic's messages ("card payment was declined"), best first by a
    # c-TF-IDF-like score and re-ranked by closeness to the centroid when the fit has an embedder
    # (``reasons.topics.labels``); False: the first ``label_words`` keywords ("card declined payment").
    phrase_labels: bool = True
    min_documents: int = 30
    embed_batch_size: int = 128
    # Large weeks: fit on a seeded sample of this many messages, assign the rest to the nearest topic centroid
    # (below ``outlier_threshold`` → outlier), then recompute centroids over all. None: fit every message.
    # 20,000 keeps the non-embedding time of a 100k week under half the embedding time at no measured
    # quality cost (docs/history/results-journal.md, section "Fit benchmark"); smaller weeks fit whole.
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


def coherence_floor(coherences: list[float], ratio: float) -> float | None:
    """The coherence under which a topic (or a group of topics) of a week is a catch-all: ``ratio`` × the
    median of the week's topic ``coherences`` (None without any). Coherence: the mean cosine of a topic's
    messages to its centroid; in one domain every topic is close to every other, so the bar is relative."""
    return ratio * float(np.median(coherences)) if coherences else None


def week_relative(raw_coherence: float | None, week_coherence: float | None) -> float | None:
    """How much closer a topic's messages sit to their centre than the week's messages to theirs (raw
    embeddings): about 1 for a little of everything, above it for a reason (None when either is unknown)."""
    if raw_coherence is None or not week_coherence:
        return None
    return raw_coherence / week_coherence


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
    topic_embeddings: np.ndarray  # unit centroids in the fit's (centred) space, rows aligned with ``topics``
    # the week's mean embedding removed before clustering (None: not centred); assignment removes it too
    center: np.ndarray | None = None
    # unit centroids of the raw embeddings: what the reason registry compares across weeks
    raw_topic_embeddings: np.ndarray | None = None
    alert_similarities: tuple[float, ...] = ()  # per topic, the cosine a message needs to alert on it
    # per topic, the mean cosine of its messages' raw embeddings to their centre, and the same for all the
    # week's messages (None: unknown): a reason is tighter than the week (:func:`week_relative`)
    raw_coherences: tuple[float, ...] = ()
    week_coherence: float | None = None

    def reason_embeddings(self) -> np.ndarray:
        return self.topic_embeddings if self.raw_topic_embeddings is None else self.raw_topic_embeddings

    def week_relative_coherences(self) -> dict[int, float | None]:
        """Per topic, its raw coherence over the week's (:func:`week_relative`; None when unknown)."""
        raw = self.raw_coherences or (None,) * len(self.topics)
        return {t.topic_id: week_relative(c, self.week_coherence) for t, c in zip(self.topics, raw)}

    def coherences(self) -> dict[int, float]:
        """Per topic, the mean cosine of its messages to its centroid."""
        return {
            t.topic_id: float(self.doc_similarities[self.doc_topics == t.topic_id].mean()) if t.size else 0.0
            for t in self.topics
        }

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
