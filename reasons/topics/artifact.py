"""The weekly topic model on disk: save, point at the live one, load and assign.

Reads and writes files under ``<models_dir>/topics`` (below; no Iceberg table): :func:`save_artifact`,
:func:`set_current` and :func:`write_json` write, :func:`live_week`, :func:`current_artifact_path` and
:meth:`TopicArtifact.load` read. The assignment itself is pure and lives in :mod:`reasons.topics.assign`.

Imported by the streaming alert job, so it imports neither BERTopic nor UMAP/HDBSCAN: an incoming
message is assigned to the topic whose centroid embedding is the most cosine-similar.

Artefact layout (:func:`save_artifact`)::

    <models_dir>/topics/<week>/<model_version>/
        topics.json          labels, keywords, sizes, topic embeddings, provenance (see ``save_artifact``)
        bertopic/            BERTopic safetensors save with c-TF-IDF (for inspection and reuse)
    <models_dir>/topics/CURRENT.json   {"path": ..., "week": ..., "model_version": ...}
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from lake.settings import Settings
from lake.weeks import parse_week
from reasons.embedding.backends import EMBEDDING_MODEL, EMBEDDING_PACKAGE, backend_of, load_embedder
from reasons.embedding.vectors import Embedder, embed, normalize
from reasons.topics.assign import nearest_topics, reason_id  # also imported from here (tests, callers)
from reasons.topics.params import OUTLIER_LABEL, Assignment, FitResult

ARTIFACT_FILE = "topics.json"
POINTER_FILE = "CURRENT.json"
FORMAT_VERSION = 1


def topics_root(settings: Settings) -> Path:
    return settings.models_dir / "topics"


def artifact_path(settings: Settings, week: str, model_version: str) -> Path:
    """The folder ``save_artifact`` writes for this week and model version."""
    return topics_root(settings) / week / model_version


def _versions() -> dict[str, str]:
    out = {}
    for pkg in (
        "bertopic",
        "sentence-transformers",
        "torch",
        "umap-learn",
        "hdbscan",
        "scikit-learn",
        EMBEDDING_PACKAGE,
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_json(path: Path, payload: dict) -> None:
    """Atomic write (readers such as the alert job never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(payload, f, indent=1)
    os.replace(f.name, path)


def save_artifact(
    settings: Settings, fit: FitResult, week: str, model_version: str, embedding_model: str = EMBEDDING_MODEL
) -> Path:
    """Write the artefact under ``models_dir/topics/<week>/<model_version>/`` and return that folder.

    Does not move ``CURRENT.json``: call :func:`set_current` once the week's reasons are served.
    """
    parse_week(week)
    path = artifact_path(settings, week, model_version)
    path.mkdir(parents=True, exist_ok=True)
    fit.model.save(
        str(path / "bertopic"), serialization="safetensors", save_ctfidf=True, save_embedding_model=embedding_model
    )
    write_json(path / ARTIFACT_FILE, artifact_meta(fit, week, model_version, embedding_model))
    return path


def artifact_meta(fit: FitResult, week: str, model_version: str, embedding_model: str = EMBEDDING_MODEL) -> dict:
    """What ``topics.json`` holds (and :class:`TopicArtifact` reads)."""
    return {
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
        # the week's mean embedding, removed from a message's embedding before it is compared
        "center": None if fit.center is None else _rounded(fit.center),
        # the mean cosine of the week's raw embeddings to their centre (a topic's ``raw_coherence`` is the same
        # for its messages): a reason is tighter than the week (``reasons.registry``)
        "week_coherence": fit.week_coherence,
        "topics": [
            {
                "topic_id": t.topic_id,
                "label": t.label,
                "keywords": list(t.keywords),
                "size": t.size,
                "embedding": _rounded(e),  # centroid in the centred space: assignment
                "reason_embedding": _rounded(raw),  # centroid of the raw embeddings: the registry
                "alert_similarity": alert,
                "raw_coherence": coherence,
            }
            for t, e, raw, alert, coherence in zip(
                fit.topics,
                fit.topic_embeddings,
                fit.reason_embeddings(),
                fit.alert_similarities or [fit.params.min_similarity] * len(fit.topics),
                fit.raw_coherences or [None] * len(fit.topics),
            )
        ],
    }


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(v), 7) for v in vector]


def live_week(settings: Settings) -> str | None:
    """The week of the promoted model (``CURRENT.json``), None before any promotion."""
    pointer = topics_root(settings) / POINTER_FILE
    return str(json.loads(pointer.read_text())["week"]) if pointer.exists() else None


def is_older_than_live(settings: Settings, week: str) -> bool:
    """Whether ``week`` is older than the promoted one: its history is kept, it never goes live again."""
    live = live_week(settings)
    return live is not None and parse_week(week) < parse_week(live)


def set_current(settings: Settings, artifact_path: Path) -> Path:
    """Point ``CURRENT.json`` at ``artifact_path`` unless it already points at a later week."""
    meta = json.loads((artifact_path / ARTIFACT_FILE).read_text())
    pointer = topics_root(settings) / POINTER_FILE
    current = current_artifact_path(settings)
    if current is not None and is_older_than_live(settings, meta["week"]):
        return current
    write_json(
        pointer, {"path": str(artifact_path.resolve()), "week": meta["week"], "model_version": meta["model_version"]}
    )
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
        self._centroids = normalize(emb) if len(topics) else np.zeros((0, 1), dtype=np.float32)
        self.min_similarity = float(meta["min_similarity"])
        center = meta.get("center")
        self.center = None if center is None else np.asarray(center, dtype=np.float32)
        # a topic of a reason too loose to alert on (the registry's ``alerts``: False) never alerts
        self._alert_similarity = {
            int(t["topic_id"]): float(t.get("alert_similarity", self.min_similarity))
            if t.get("alerts", True)
            else math.inf
            for t in topics
        }

    @classmethod
    def load(cls, path: Path | str, embedder: Embedder | None = None) -> TopicArtifact:
        """Load an artefact folder; the embedder defaults to the process-wide ``load_embedder`` of the backend
        the artefact was fitted with (its recorded ``embedding_model``)."""
        path = Path(path)
        meta = json.loads((path / ARTIFACT_FILE).read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported artefact format {meta.get('format_version')!r}")
        if embedder is None:
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
            self._embedder = load_embedder(backend_of(self._meta["embedding_model"]))
        return self._embedder

    def assign_embeddings(self, embeddings: np.ndarray) -> list[Assignment]:
        """:func:`nearest_topics` of raw message embeddings under this model."""
        return nearest_topics(embeddings, self._centroids, self.topic_ids, self.min_similarity, self.center)

    def alert_similarity(self, topic_id: int) -> float:
        """The cosine a message needs to its topic's centroid to alert on it (the topic's core; infinite for
        a topic whose reason is too loose to alert on)."""
        return self._alert_similarity.get(int(topic_id), self.min_similarity)

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

    def reason_ids(self) -> list[str]:
        """The reason id of every topic of the model (what its election is keyed by)."""
        return sorted({self.reason_id(t) for t in self.topic_ids})


class ArtifactError(RuntimeError):
    """A topic-model artefact is missing or cannot be used."""


def verify_artifact(path: Path, model_version: str) -> TopicArtifact:
    """The artefact at ``path``, loaded and checked before it goes live: it is ``model_version`` and it
    assigns a text. Raises :class:`ArtifactError` saying what is wrong (missing, corrupt, another
    version) otherwise."""
    try:
        artifact = TopicArtifact.load(path)
        artifact.assign(["is this model usable"])
    except FileNotFoundError:
        raise ArtifactError(f"the topic model {path} is missing") from None
    except Exception as exc:  # truncated JSON, a missing field, a wrong shape: all mean "corrupt"
        what = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ArtifactError(f"the topic model {path} is corrupt ({type(exc).__name__}: {what})") from None
    if artifact.model_version != model_version:
        raise ArtifactError(f"the topic model {path} is {artifact.model_version}, not {model_version}")
    return artifact
