"""The steps of a topic fit around BERTopic's own: the model as configured (:func:`bertopic_model`), then
near-duplicate topics merged (:func:`merge_near_duplicates`), outliers reduced (:func:`reduce_outliers`),
catch-all topics split (:func:`split_catch_alls`), topics labelled (:func:`labelled_topics`) and their
centroids (:func:`centroids_and_similarities`). Pure; called by :mod:`reasons.topics.fit`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from reasons.embedding.vectors import coherence, normalize
from reasons.topics.compiled import keep_compiled_code
from reasons.topics.labels import keyword_label
from reasons.topics.params import (
    OUTLIER,
    FitResult,
    ResolvedParams,
    Topic,
    TopicModelParams,
    coherence_floor,
)

log = logging.getLogger(__name__)


def _vectorizer(stop_words: tuple[str, ...] = ()) -> Any:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    return CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | set(stop_words)),
        min_df=1,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
    )


def _ctfidf() -> Any:
    from bertopic.vectorizers import ClassTfidfTransformer

    return ClassTfidfTransformer(reduce_frequent_words=True)


def bertopic_model(params: TopicModelParams, r: ResolvedParams, stop_words: tuple[str, ...] = ()) -> Any:
    """An unfitted BERTopic on precomputed embeddings: seeded UMAP, HDBSCAN, c-TF-IDF keywords."""
    keep_compiled_code()  # before bertopic imports UMAP
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    return BERTopic(
        embedding_model=None,
        umap_model=UMAP(
            n_neighbors=r.n_neighbors,
            n_components=r.n_components,
            min_dist=params.umap_min_dist,
            init=params.umap_init,
            metric="cosine",
            random_state=params.seed,
            n_jobs=1,
            low_memory=True,
        ),
        hdbscan_model=HDBSCAN(
            min_cluster_size=r.min_topic_size,
            min_samples=r.min_samples,
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        ),
        vectorizer_model=_vectorizer(stop_words),
        ctfidf_model=_ctfidf(),
        top_n_words=params.top_n_words,
        min_topic_size=r.min_topic_size,
        calculate_probabilities=False,
    )


def merge_near_duplicates(
    model: Any,
    texts: list[str],
    topics: np.ndarray,
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
) -> np.ndarray:
    """Topics whose centroids cluster at ``params.merge_similarity`` merged into one (BERTopic's merge)."""
    if params.merge_similarity is None:
        return topics
    groups = similar_topic_groups(topics, embeddings, params.merge_similarity, params.merge_linkage)
    if not groups:
        return topics
    model.merge_topics(texts, topics_to_merge=groups)
    topics = np.asarray(model.topics_)
    log(f"merged near-duplicate topics {groups}: {len(set(topics) - {OUTLIER})} topics")
    return topics


def reduce_outliers(
    model: Any,
    texts: list[str],
    topics: np.ndarray,
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
    stop_words: tuple[str, ...] = (),
) -> np.ndarray:
    """Outliers at least ``params.outlier_threshold`` cosine-similar to a topic join it; keywords refreshed."""
    if not ((topics == OUTLIER).any() and (topics != OUTLIER).any()):
        return topics
    reduced = np.asarray(
        model.reduce_outliers(
            texts, list(topics), strategy="embeddings", embeddings=embeddings, threshold=params.outlier_threshold
        )
    )
    if not np.array_equal(reduced, topics):
        _set_topics(model, texts, reduced, params, stop_words)
    log(f"outliers reduced (threshold {params.outlier_threshold}): outlier share {np.mean(reduced == OUTLIER):.1%}")
    return reduced


def _set_topics(
    model: Any, texts: list[str], topics: np.ndarray, params: TopicModelParams, stop_words: tuple[str, ...]
) -> None:
    """``model``'s topics set to ``topics`` (one per text), its sizes and c-TF-IDF keywords computed again."""
    bertopic_logger = logging.getLogger("BERTopic")
    level = bertopic_logger.level
    bertopic_logger.setLevel(logging.ERROR)  # its warning about custom topics is expected here
    try:
        model.update_topics(
            texts,
            topics=list(topics),
            top_n_words=params.top_n_words,
            vectorizer_model=_vectorizer(stop_words),
            ctfidf_model=_ctfidf(),
        )
    finally:
        bertopic_logger.setLevel(level)


def split_catch_alls(
    model: Any,
    texts: list[str],
    topics: np.ndarray,
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
    stop_words: tuple[str, ...] = (),
    *,
    refit: Callable[[list[str], np.ndarray, TopicModelParams], FitResult],
) -> np.ndarray:
    """Each catch-all topic (coherence under :func:`coherence_floor` of the week's topics) holding at least
        ``params.split_min_share`` of the messages, clustered again on its own messages with their mean removed
        (what they share is what made them one topic) and the week's minimum topic size: the topics found
        there take new ids, the messages they leave keep the catch-all's id. Topic ids are then renumbered
        0, 1, … in order (the catch-all's rest where it was, its sub-topics at the end) and ``model``'s
        keywords computed again. One level: a sub-topic is never split again. ``refit(texts, embeddings, params)``
    fits a catch-all's messages (the whole fit of :mod:`reasons.topics.fit`, passed in: it calls this)."""
    if params.split_coherence_ratio is None:
        return topics
    ids = sorted(set(int(t) for t in topics) - {OUTLIER})
    coherences = {t: coherence(embeddings[topics == t]) for t in ids}
    floor = coherence_floor(list(coherences.values()), params.split_coherence_ratio)
    size = params.for_corpus(len(topics)).min_topic_size  # a sub-topic is a topic of the week: the week's size
    sub_params = replace(params, split_coherence_ratio=None, min_topic_size=size)
    out, next_id, split = topics.copy(), max(ids, default=0) + 1, []
    for t in ids:
        members = np.flatnonzero(topics == t)
        large = len(members) >= max(params.split_min_share * len(topics), 2 * size, params.min_documents)
        if floor is None or coherences[t] >= floor or not large:
            continue
        sub = refit(
            [texts[i] for i in members], normalize(embeddings[members] - embeddings[members].mean(axis=0)), sub_params
        )
        if len(sub.topics) < 2:
            continue
        for s in sub.topics:
            out[members[sub.doc_topics == s.topic_id]] = next_id
            next_id += 1
        split.append((t, len(members), len(sub.topics)))
    if not split:
        return topics
    renumber = {old: new for new, old in enumerate(sorted(set(out.tolist()) - {OUTLIER}))}
    out = np.array([renumber.get(int(t), OUTLIER) for t in out], dtype=int)
    _set_topics(model, texts, out, params, stop_words)
    described = ", ".join(f"topic {t} ({n} messages, coherence {coherences[t]:.2f}) into {k}" for t, n, k in split)
    log(f"split catch-alls under coherence {floor:.2f}: {described}; {len(renumber)} topics")
    return out


def labelled_topics(
    model: Any, topics: np.ndarray, topic_ids: list[int], params: TopicModelParams
) -> tuple[Topic, ...]:
    """Each topic's keywords (c-TF-IDF, positive scores) and a label unique within the model."""
    used: set[str] = set()
    built = []
    for t in topic_ids:
        keywords = tuple(w for w, score in (model.get_topic(t) or []) if w and score > 0)
        label = keyword_label(keywords, params.label_words, used, t)
        built.append(Topic(topic_id=t, label=label, keywords=keywords, size=int((topics == t).sum())))
    return tuple(built)


def centroids_and_similarities(
    model, topics: np.ndarray, embeddings: np.ndarray, outlier_row: bool
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The final topics' ids and centroids (:func:`_centroids`), and each message's cosine to its topic's
    centroid (an outlier: to the nearest centroid, 0 without topics). Sets BERTopic's own
    ``topic_embeddings_`` to match (one row per topic, the outliers' mean first when ``outlier_row``)."""
    topic_ids, centroids = centroids_of(topics, embeddings)
    rows = ([embeddings[topics == OUTLIER].mean(axis=0)] if outlier_row else []) + list(centroids)
    model.topic_embeddings_ = np.vstack(rows) if rows else None
    doc_sims = np.zeros(len(topics), dtype=np.float64)
    if topic_ids:
        sims = embeddings @ centroids.T
        inlier = topics != OUTLIER
        column = np.searchsorted(np.asarray(topic_ids, dtype=int), topics[inlier])
        doc_sims[inlier] = sims[np.flatnonzero(inlier), column]
        doc_sims[~inlier] = sims[~inlier].max(axis=1)
    return topic_ids, centroids, doc_sims


def centroids_of(topics: np.ndarray, embeddings: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The topic ids (outliers excluded, ascending) and their unit mean embeddings, row per id."""
    ids = sorted(set(int(t) for t in topics) - {OUTLIER})
    if not ids:
        return [], np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    return ids, normalize(np.vstack([embeddings[topics == t].mean(axis=0) for t in ids]))


def similar_topic_groups(
    topics: np.ndarray, embeddings: np.ndarray, min_similarity: float, linkage: str = "average"
) -> list[list[int]]:
    """Groups (of 2+) of topics whose centroids cluster at cosine >= ``min_similarity`` (``linkage``)."""
    from sklearn.cluster import AgglomerativeClustering

    ids, centroids = centroids_of(topics, embeddings)
    if len(ids) < 2:
        return []
    clusters = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage=linkage, distance_threshold=1.0 - min_similarity
    ).fit_predict(centroids)
    groups: dict[int, list[int]] = {}
    for topic, cluster in zip(ids, clusters):
        groups.setdefault(int(cluster), []).append(topic)
    return sorted(g for g in groups.values() if len(g) > 1)
