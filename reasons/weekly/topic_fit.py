"""Step 1 of a week: the topic fit, end to end, as plain functions (the Dagster asset is a shell).

:func:`fit_week` — messages of the week → embeddings (reused from ``ml.embeddings`` where stored,
:mod:`reasons.embedding.store`) → BERTopic fit → artefact on disk, with the week's topic rows,
per-message rows (topic, similarity, sentiment, dissatisfied) and embeddings saved beside it
(:func:`save_fit`; ``<week>/FITTED.json`` points at the week's latest fit). Every write replaces
the week's rows, so any week replays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from lake.settings import Settings
from lake.weeks import parse_week
from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.embedding.store import embed_with_store
from reasons.embedding.vectors import Embedder, embed
from reasons.sentiment import DissatisfactionRule, score_messages
from reasons.text import brand_terms, keyword_texts
from reasons.topics.artifact import ARTIFACT_FILE, TopicArtifact, save_artifact, topics_root, write_json
from reasons.topics.assign import reason_id
from reasons.topics.fit import fit_topics, model_version_for
from reasons.topics.params import OUTLIER, OUTLIER_LABEL, FitResult, TopicModelParams

MESSAGE_COLUMNS = ("message_id", "source", "text", "created_at", "rating")


@dataclass(frozen=True)
class WeeklyFit:
    week: str
    model_version: str
    artifact_path: Path
    fit: FitResult
    topics: pd.DataFrame  # rows of ml.topics
    message_topics: pd.DataFrame  # rows of ml.message_topics
    embeddings_reused: int = 0  # messages whose embedding came from ml.embeddings
    embeddings_computed: int = 0  # messages embedded by this fit (now stored in ml.embeddings)


def fit_week(
    messages: pd.DataFrame,
    week: str,
    embedder: Embedder,
    settings: Settings,
    params: TopicModelParams = TopicModelParams(),
    rule: DissatisfactionRule = DissatisfactionRule(),
    log: Callable[[str], None] = lambda _: None,
    now: datetime | None = None,
    embedding_model: str = EMBEDDING_MODEL,
) -> WeeklyFit:
    """Fit the week's model on ``messages`` (columns of the cleaned mart), save the artefact, build the rows.

    ``embedding_model`` names the model ``embedder`` runs (the key of its vectors in ``ml.embeddings``).
    """
    missing = set(MESSAGE_COLUMNS) - set(messages.columns)
    if missing:
        raise ValueError(f"messages lack columns {sorted(missing)}")
    now = now or datetime.now(UTC)
    messages = messages.reset_index(drop=True)
    log(f"{week}: embedding {len(messages)} messages")
    stored = embed_with_store(
        settings,
        messages,
        embedder,
        embedding_model,
        batch_size=params.embed_batch_size,
        log=log,
        progress=lambda done, total: log(f"embedded {done}/{total} messages"),
    )
    # keywords from the cleaned text without the week's brand handles; embeddings from the text as sent;
    # labels from what the dissatisfied messages say first
    brands = brand_terms(messages["mentions"]) if "mentions" in messages else ()
    scores = score_messages(messages, stored.embeddings, rule)
    fit = fit_topics(
        keyword_texts(messages),
        stored.embeddings,
        params,
        log=log,
        stop_words=brands,
        embed=lambda texts: embed(embedder, texts, batch_size=params.embed_batch_size),
        label_rows=scores["dissatisfied"].to_numpy(dtype=bool),
    )
    doc_ids = (messages["source"].astype(str) + "/" + messages["message_id"].astype(str)).tolist()
    version = model_version_for(week, doc_ids, params, embedding_model)
    path = save_artifact(settings, fit, week, version, embedding_model)
    log(f"saved {version}: {len(fit.topics)} topics, outlier share {fit.outlier_share:.1%} → {path}")
    result = WeeklyFit(
        week=week,
        model_version=version,
        artifact_path=path,
        fit=fit,
        topics=_topic_rows(fit, week, version, now),
        message_topics=_message_topic_rows(fit, messages, scores, week, version),
        embeddings_reused=stored.reused,
        embeddings_computed=stored.computed,
    )
    save_fit(settings, result, stored.embeddings)
    return result


def _topic_rows(fit: FitResult, week: str, version: str, now: datetime) -> pd.DataFrame:
    """Rows of ``ml.topics`` (provisional reason ids until the registry runs); the outliers last."""
    n_outliers = int((fit.doc_topics == OUTLIER).sum())
    topics = [(t.topic_id, t.label, list(t.keywords), t.size) for t in fit.topics]
    topics += [(OUTLIER, OUTLIER_LABEL, [], n_outliers)] if n_outliers else []
    return pd.DataFrame(
        [
            {
                "week": week,
                "model_version": version,
                "topic_id": topic_id,
                "reason_id": reason_id(version, topic_id),
                "label": label,
                "keywords": keywords,
                "size": size,
                "fitted_at": now,
            }
            for topic_id, label, keywords, size in topics
        ]
    )


def _message_topic_rows(
    fit: FitResult, messages: pd.DataFrame, scores: pd.DataFrame, week: str, version: str
) -> pd.DataFrame:
    """Rows of ``ml.message_topics``: each message's topic, similarity, sentiment and dissatisfaction
    (``scores``: :func:`reasons.sentiment.score_messages` of the messages' raw embeddings, the fit's)."""
    return pd.DataFrame(
        {
            "week": week,
            "message_id": messages["message_id"].astype(str),
            "source": messages["source"].astype(str),
            "topic_id": fit.doc_topics.astype(int),
            "reason_id": [reason_id(version, t) for t in fit.doc_topics],
            "similarity": fit.doc_similarities,
            "rating": pd.to_numeric(messages["rating"], errors="coerce").astype("Int64"),
            "sentiment": scores["sentiment"],
            "dissatisfied": scores["dissatisfied"],
            "model_version": version,
            "created_at": pd.to_datetime(messages["created_at"], utc=True),
        }
    )


FITTED_FILE = "FITTED.json"


def save_fit(settings: Settings, result: WeeklyFit, embeddings) -> None:
    """The week's rows and embeddings beside the artefact, and ``<week>/FITTED.json`` pointing at it."""
    result.topics.to_parquet(result.artifact_path / "topics.parquet", index=False)
    result.message_topics.to_parquet(result.artifact_path / "message_topics.parquet", index=False)
    np.save(result.artifact_path / "embeddings.npy", np.asarray(embeddings, dtype=np.float32))
    write_json(
        topics_root(settings) / result.week / FITTED_FILE,
        {"path": str(result.artifact_path.resolve()), "model_version": result.model_version},
    )


def fitted_artifact_path(settings: Settings, week: str) -> Path:
    """The artefact folder of the week's latest fit (raises FileNotFoundError before any fit)."""
    parse_week(week)
    pointer = topics_root(settings) / week / FITTED_FILE
    if not pointer.exists():
        raise FileNotFoundError(f"{week} has no fitted topic model yet: materialize ml/topic_model first")
    return Path(json.loads(pointer.read_text())["path"])


def stream_batch_agreement(settings: Settings, week: str) -> tuple[float, int]:
    """Share of the week's non-outlier messages (batch fit) that the streaming path — ``TopicArtifact``
    assigning their embeddings to the nearest topic centroid — puts in the same topic; and that count."""
    path = fitted_artifact_path(settings, week)
    batch = pd.read_parquet(path / "message_topics.parquet", columns=["topic_id"])["topic_id"].to_numpy()
    embeddings = np.load(path / "embeddings.npy")
    stream = np.array(
        [
            a.topic_id
            for a in TopicArtifact(
                path, json.loads((path / ARTIFACT_FILE).read_text()), embedder=None
            ).assign_embeddings(embeddings)
        ]
    )
    kept = batch != OUTLIER
    if not kept.any():
        return 1.0, 0
    return float(np.mean(stream[kept] == batch[kept])), int(kept.sum())
