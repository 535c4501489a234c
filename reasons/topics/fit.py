"""The weekly topic fit: BERTopic on precomputed embeddings, fixed seeds, outliers reduced. Pure.

The heavy libraries (BERTopic, UMAP, HDBSCAN) are imported inside :func:`fit_topics` only, after
:func:`reasons.topics.compiled.keep_compiled_code` (UMAP's numba code compiled once, then loaded).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, replace
from typing import Any, ClassVar

import numpy as np

from lake.weeks import parse_week
from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.embedding.vectors import coherence, normalize
from reasons.topics.compiled import keep_compiled_code
from reasons.topics.labels import keyword_label, phrase_label, problem_phrase_candidates, rerank_by_embedding
from reasons.topics.params import (
    OUTLIER,
    CorpusTooSmallError,
    FitResult,
    ResolvedParams,
    Topic,
    TopicModelParams,
    coherence_floor,
)


def model_version_for(
    week: str, doc_ids: Iterable[str], params: TopicModelParams, embedding_model: str = EMBEDDING_MODEL
) -> str:
    """``<week>-<hash8>``: the same corpus, parameters and embedding model give the same version."""
    parse_week(week)
    ids = sorted(map(str, doc_ids))
    fields = asdict(params)
    if not params.samples(len(ids)):
        fields.pop("fit_sample")  # a week that fits whole keeps the version it had before sampling existed
    payload = json.dumps({"ids": ids, "params": fields, "embedding_model": embedding_model}, sort_keys=True)
    return f"{week}-{hashlib.sha256(payload.encode()).hexdigest()[:8]}"


def fit_topics(
    texts: Sequence[str],
    embeddings: np.ndarray,
    params: TopicModelParams = TopicModelParams(),
    log: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    stop_words: Iterable[str] = (),
    embed: Callable[[list[str]], np.ndarray] | None = None,
    label_rows: Sequence[bool] | np.ndarray | None = None,
) -> FitResult:
    """BERTopic on precomputed embeddings, fixed seeds, outliers reduced, phrase (or keyword) labels.

    ``texts`` feed the keywords only (pass the cleaned modelling text); ``embeddings`` are the raw text's.
    With ``params.center_embeddings`` the week's mean embedding is removed first (clustering and the
    centroids work in that centred space; ``FitResult.center`` keeps the mean for assignment).
    ``stop_words`` (brand names found in the week) join ``params.stop_words`` out of the keywords.
    ``embed`` (texts → unit embeddings, the model of ``embeddings``) re-ranks each topic's candidate
    label phrases by closeness to its centroid; without it the best-scored phrase is the label.
    ``label_rows`` (one bool per text: the dissatisfied messages) are where a topic's label phrases come from
    first (:func:`reasons.topics.labels.problem_phrase_candidates`).

    Raises :class:`CorpusTooSmallError` below ``params.min_documents`` texts. ``timings``, when given, is
    filled with seconds per stage (it does not change the result): ``reduction`` (UMAP), ``clustering``
    (HDBSCAN), ``representation`` (BERTopic's c-TF-IDF and keywords of the fit, and the labels),
    ``merge_outliers`` (the rest: topic merging and outlier reduction, each re-computing c-TF-IDF, and
    the centroids) and ``total``.
    """
    started = time.perf_counter()
    if timings is not None:
        timings.update(reduction=0.0, clustering=0.0, representation=0.0)
    texts = [str(t) for t in texts]
    n = len(texts)
    if n < params.min_documents:
        raise CorpusTooSmallError(f"{n} messages; a topic fit needs at least {params.min_documents}")
    if embeddings.shape[0] != n:
        raise ValueError(f"{embeddings.shape[0]} embeddings for {n} texts")
    log = log or (lambda _: None)
    raw = normalize(np.asarray(embeddings, dtype=np.float32))
    center = raw.mean(axis=0) if params.center_embeddings else None
    work = raw if center is None else normalize(raw - center)
    words = tuple(sorted({w.lower() for w in (*params.stop_words, *stop_words) if w}))
    if params.samples(n):
        fitted = _fit_sample_then_assign(texts, work, params, log, timings, words)
    else:
        fitted = _fit_whole(texts, work, params, log, timings, words)
    _, raw_centroids = _centroids(fitted.doc_topics, raw)
    result = replace(
        fitted,
        center=center,
        raw_topic_embeddings=raw_centroids,
        raw_coherences=tuple(round(coherence(raw[fitted.doc_topics == t.topic_id]), 6) for t in fitted.topics),
        week_coherence=round(coherence(raw), 6),
        alert_similarities=_alert_similarities(fitted, params.alert_quantile, params.alert_coherence_ratio),
    )
    if params.phrase_labels:
        began = time.perf_counter()
        result = _with_phrase_labels(result, texts, words, embed, label_rows)
        if timings is not None:
            timings["representation"] = timings.get("representation", 0.0) + time.perf_counter() - began
    if timings is not None:
        timings["total"] = time.perf_counter() - started
        timings.setdefault("merge_outliers", 0.0)
    return result


def _with_phrase_labels(
    fit: FitResult,
    texts: list[str],
    stop_words: tuple[str, ...],
    embed: Callable[[list[str]], np.ndarray] | None,
    label_rows: Sequence[bool] | np.ndarray | None = None,
) -> FitResult:
    """The fit with each topic labelled by its best phrase (unique in the model; keywords if none)."""
    ids = [t.topic_id for t in fit.topics]
    candidates = problem_phrase_candidates(texts, fit.doc_topics, ids, stop_words, label_rows)
    if embed is not None:  # every topic's candidates in one embedding call
        unique = sorted({p for scored in candidates.values() for p, _ in scored})
        vectors = dict(zip(unique, embed(unique))) if unique else {}
        embed = lambda phrases: np.stack([vectors[p] for p in phrases])
    used: set[str] = set()
    topics = []
    for row, t in enumerate(fit.topics):
        phrases = [p for p, _ in candidates[t.topic_id]]
        if embed is not None:
            phrases = rerank_by_embedding(phrases, fit.topic_embeddings[row], embed, fit.center)
        topics.append(replace(t, label=phrase_label(phrases, t.keywords, fit.params.label_words, used, t.topic_id)))
    return replace(fit, topics=tuple(topics))


def _alert_similarities(fit: FitResult, quantile: float, coherence_ratio: float | None) -> tuple[float, ...]:
    """Per topic, the cosine a message needs to alert on it: the ``quantile`` of its members' cosines to its
    centroid (its core), at least ``coherence_ratio`` × the week's median topic coherence (when set) and
    ``min_similarity``."""
    floor = fit.params.min_similarity
    if coherence_ratio is not None:
        floor = max(floor, coherence_floor(list(fit.coherences().values()), coherence_ratio) or 0.0)
    out = []
    for t in fit.topics:
        sims = fit.doc_similarities[fit.doc_topics == t.topic_id]
        q = float(np.quantile(sims, quantile)) if quantile > 0 and len(sims) else 0.0
        out.append(round(max(q, floor), 6))
    return tuple(out)


def _fit_whole(
    texts: list[str],
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
    timings: dict[str, float] | None,
    stop_words: tuple[str, ...],
) -> FitResult:
    """The fit of every message on unit embeddings of the fit's space."""
    started = time.perf_counter()
    n = len(texts)
    r = params.for_corpus(n)
    log(f"fitting BERTopic on {n} messages: {r}")
    model = _bertopic(params, r, stop_words)
    stage = _stage_timer(model, timings)
    try:
        topics = np.asarray(model.fit_transform(texts, embeddings=embeddings)[0])
    finally:
        stage.restore()
    log(f"BERTopic: {len(set(topics) - {OUTLIER})} topics, outlier share {np.mean(topics == OUTLIER):.1%}")
    topics = _merge_near_duplicates(model, texts, topics, embeddings, params, log)
    topics = _reduce_outliers(model, texts, topics, embeddings, params, log, stop_words)
    topics = _split_catch_alls(model, texts, topics, embeddings, params, log, stop_words)
    topic_ids, centroids, doc_sims = _centroids_and_similarities(
        model, topics, embeddings, outlier_row=bool((topics == OUTLIER).any())
    )
    labels_started = time.perf_counter()
    built = _labelled_topics(model, topics, topic_ids, params)
    if timings is not None:
        timings["representation"] = timings.get("representation", 0.0) + time.perf_counter() - labels_started
        timings["merge_outliers"] = (
            time.perf_counter()
            - started
            - sum(timings.get(k, 0.0) for k in ("reduction", "clustering", "representation"))
        )
    return FitResult(
        model=model,
        params=params,
        resolved=r,
        topics=built,
        doc_topics=topics.astype(int),
        doc_similarities=doc_sims,
        topic_embeddings=centroids,
    )


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


def _bertopic(params: TopicModelParams, r: ResolvedParams, stop_words: tuple[str, ...] = ()) -> Any:
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


def _merge_near_duplicates(
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
    groups = _similar_topic_groups(topics, embeddings, params.merge_similarity, params.merge_linkage)
    if not groups:
        return topics
    model.merge_topics(texts, topics_to_merge=groups)
    topics = np.asarray(model.topics_)
    log(f"merged near-duplicate topics {groups}: {len(set(topics) - {OUTLIER})} topics")
    return topics


def _reduce_outliers(
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


def _split_catch_alls(
    model: Any,
    texts: list[str],
    topics: np.ndarray,
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
    stop_words: tuple[str, ...] = (),
) -> np.ndarray:
    """Each catch-all topic (coherence under :func:`coherence_floor` of the week's topics) holding at least
    ``params.split_min_share`` of the messages, clustered again on its own messages with their mean removed
    (what they share is what made them one topic) and the week's minimum topic size: the topics found
    there take new ids, the messages they leave keep the catch-all's id. Topic ids are then renumbered
    0, 1, … in order (the catch-all's rest where it was, its sub-topics at the end) and ``model``'s
    keywords computed again. One level: a sub-topic is never split again."""
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
        sub = _fit_whole(
            [texts[i] for i in members],
            normalize(embeddings[members] - embeddings[members].mean(axis=0)),
            sub_params,
            log,
            None,
            stop_words,
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


def _labelled_topics(
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


def _fit_sample_then_assign(
    texts: list[str],
    embeddings: np.ndarray,
    params: TopicModelParams,
    log: Callable[[str], None],
    timings: dict[str, float] | None,
    stop_words: tuple[str, ...],
) -> FitResult:
    """``fit_topics`` on a seeded sample of ``params.fit_sample`` messages; every other message joins its
    nearest topic (cosine to the sample's centroids, outlier below ``outlier_threshold``); centroids,
    sizes and similarities are then computed over all messages. Keywords and labels are the sample's."""
    n = len(texts)
    sample = np.sort(np.random.default_rng(params.seed).choice(n, size=params.fit_sample, replace=False))
    log(f"fitting on a sample of {len(sample)} of {n} messages, assigning the rest by nearest centroid")
    sub = _fit_whole([texts[i] for i in sample], embeddings[sample], params, log, timings, stop_words)
    began = time.perf_counter()
    topics = np.full(n, OUTLIER, dtype=int)
    topics[sample] = sub.doc_topics
    rest = np.setdiff1d(np.arange(n), sample)
    ids = np.array([t.topic_id for t in sub.topics], dtype=int)
    if len(ids):
        for start in range(0, len(rest), 65536):  # bounded memory: a block of rows × topics at a time
            block = rest[start : start + 65536]
            sims = embeddings[block] @ sub.topic_embeddings.T
            best = sims.argmax(axis=1)
            topics[block] = np.where(sims[np.arange(len(block)), best] >= params.outlier_threshold, ids[best], OUTLIER)
    # the sub-model numbers its topics with an outlier row only if the sample had outliers
    _, centroids, doc_sims = _centroids_and_similarities(
        sub.model, topics, embeddings, outlier_row=bool((sub.doc_topics == OUTLIER).any())
    )
    built = tuple(replace(t, size=int((topics == t.topic_id).sum())) for t in sub.topics)
    log(f"assigned {len(rest)} messages: outlier share {np.mean(topics == OUTLIER):.1%}")
    if timings is not None:
        timings["assign"] = time.perf_counter() - began
    return FitResult(
        model=sub.model,
        params=params,
        resolved=sub.resolved,
        topics=built,
        doc_topics=topics,
        doc_similarities=doc_sims,
        topic_embeddings=centroids,
    )


class _stage_timer:
    """Adds the seconds spent in BERTopic's stage methods of ``model`` to ``timings`` (no-op when None):
    wraps them on the instance only, and ``restore`` removes the wrappers (the model pickles as before)."""

    STAGES: ClassVar[dict[str, str]] = {
        "_reduce_dimensionality": "reduction",
        "_cluster_embeddings": "clustering",
        "_extract_topics": "representation",
    }

    def __init__(self, model: object, timings: dict[str, float] | None):
        self.model, self.wrapped = model, []
        if timings is None:
            return
        for method, stage in self.STAGES.items():
            original = getattr(model, method, None)
            if original is None:
                continue

            def timed(*args, _original=original, _stage=stage, **kwargs):
                began = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    timings[_stage] = timings.get(_stage, 0.0) + time.perf_counter() - began

            setattr(model, method, timed)
            self.wrapped.append(method)

    def restore(self) -> None:
        for method in self.wrapped:
            self.model.__dict__.pop(method, None)
        self.wrapped = []


def _centroids_and_similarities(
    model, topics: np.ndarray, embeddings: np.ndarray, outlier_row: bool
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The final topics' ids and centroids (:func:`_centroids`), and each message's cosine to its topic's
    centroid (an outlier: to the nearest centroid, 0 without topics). Sets BERTopic's own
    ``topic_embeddings_`` to match (one row per topic, the outliers' mean first when ``outlier_row``)."""
    topic_ids, centroids = _centroids(topics, embeddings)
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


def _centroids(topics: np.ndarray, embeddings: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The topic ids (outliers excluded, ascending) and their unit mean embeddings, row per id."""
    ids = sorted(set(int(t) for t in topics) - {OUTLIER})
    if not ids:
        return [], np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    return ids, normalize(np.vstack([embeddings[topics == t].mean(axis=0) for t in ids]))


def _similar_topic_groups(
    topics: np.ndarray, embeddings: np.ndarray, min_similarity: float, linkage: str = "average"
) -> list[list[int]]:
    """Groups (of 2+) of topics whose centroids cluster at cosine >= ``min_similarity`` (``linkage``)."""
    from sklearn.cluster import AgglomerativeClustering

    ids, centroids = _centroids(topics, embeddings)
    if len(ids) < 2:
        return []
    clusters = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage=linkage, distance_threshold=1.0 - min_similarity
    ).fit_predict(centroids)
    groups: dict[int, list[int]] = {}
    for topic, cluster in zip(ids, clusters):
        groups.setdefault(int(cluster), []).append(topic)
    return sorted(g for g in groups.values() if len(g) > 1)
