"""The weekly topic fit: BERTopic on precomputed embeddings, fixed seeds, outliers reduced. Pure.

The heavy libraries (BERTopic, UMAP, HDBSCAN) are imported inside :func:`fit_topics` only, after
:func:`reasons.topics.compiled.keep_compiled_code` (UMAP's numba code compiled once, then loaded).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, replace
from typing import ClassVar

import numpy as np

from lake.weeks import parse_week
from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.embedding.vectors import coherence, normalize
from reasons.topics.labels import phrase_label, problem_phrase_candidates, rerank_by_embedding
from reasons.topics.params import (
    OUTLIER,
    CorpusTooSmallError,
    FitResult,
    TopicModelParams,
    coherence_floor,
)
from reasons.topics.refine import (
    bertopic_model,
    centroids_and_similarities,
    centroids_of,
    labelled_topics,
    merge_near_duplicates,
    reduce_outliers,
    split_catch_alls,
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
    _, raw_centroids = centroids_of(fitted.doc_topics, raw)
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
    model = bertopic_model(params, r, stop_words)
    stage = _stage_timer(model, timings)
    try:
        topics = np.asarray(model.fit_transform(texts, embeddings=embeddings)[0])
    finally:
        stage.restore()
    log(f"BERTopic: {len(set(topics) - {OUTLIER})} topics, outlier share {np.mean(topics == OUTLIER):.1%}")
    topics = merge_near_duplicates(model, texts, topics, embeddings, params, log)
    topics = reduce_outliers(model, texts, topics, embeddings, params, log, stop_words)
    topics = split_catch_alls(
        model,
        texts,
        topics,
        embeddings,
        params,
        log,
        stop_words,
        refit=lambda t, e, p: _fit_whole(t, e, p, log, None, stop_words),
    )
    topic_ids, centroids, doc_sims = centroids_and_similarities(
        model, topics, embeddings, outlier_row=bool((topics == OUTLIER).any())
    )
    labels_started = time.perf_counter()
    built = labelled_topics(model, topics, topic_ids, params)
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
    _, centroids, doc_sims = centroids_and_similarities(
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
