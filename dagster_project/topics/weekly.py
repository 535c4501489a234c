"""One week's topic fit end to end, as plain functions (the Dagster assets are shells over these).

messages of the week → embeddings → BERTopic fit → artefact on disk → rows of ``ml.topics`` and
``ml.message_topics`` (topic, similarity, sentiment, dissatisfied per message) → Iceberg, replacing
the week's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from dagster_project.topics.model import (
    OUTLIER,
    OUTLIER_LABEL,
    Embedder,
    FitResult,
    TopicModelParams,
    embed,
    fit_topics,
    model_version_for,
    reason_id,
    save_artifact,
)
from dagster_project.topics.sentiment import DissatisfactionRule, score_messages
from lake import catalog as lake_catalog
from lake.schemas import ML_MESSAGE_TOPICS, ML_TOPICS
from lake.settings import Settings

MESSAGE_COLUMNS = ("message_id", "source", "text", "created_at", "rating")


@dataclass(frozen=True)
class WeeklyFit:
    week: str
    model_version: str
    artifact_path: Path
    fit: FitResult
    topics: pd.DataFrame  # rows of ml.topics
    message_topics: pd.DataFrame  # rows of ml.message_topics


def fit_week(messages: pd.DataFrame, week: str, embedder: Embedder, settings: Settings,
             params: TopicModelParams = TopicModelParams(), rule: DissatisfactionRule = DissatisfactionRule(),
             log: Callable[[str], None] = lambda _: None, now: datetime | None = None) -> WeeklyFit:
    """Fit the week's model on ``messages`` (columns of the cleaned mart), save the artefact, build the rows."""
    missing = set(MESSAGE_COLUMNS) - set(messages.columns)
    if missing:
        raise ValueError(f"messages lack columns {sorted(missing)}")
    now = now or datetime.now(timezone.utc)
    messages = messages.reset_index(drop=True)
    texts = messages["text"].astype(str).tolist()
    log(f"{week}: embedding {len(texts)} messages")
    embeddings = embed(embedder, texts, batch_size=params.embed_batch_size,
                       progress=lambda done, total: log(f"embedded {done}/{total} messages"))
    fit = fit_topics(texts, embeddings, params, log=log)
    doc_ids = (messages["source"].astype(str) + "/" + messages["message_id"].astype(str)).tolist()
    version = model_version_for(week, doc_ids, params)
    path = save_artifact(settings, fit, week, version)
    log(f"saved {version}: {len(fit.topics)} topics, outlier share {fit.outlier_share:.1%} → {path}")

    topic_rows = [{"week": week, "model_version": version, "topic_id": t.topic_id,
                   "reason_id": reason_id(version, t.topic_id), "label": t.label, "keywords": list(t.keywords),
                   "size": t.size, "fitted_at": now} for t in fit.topics]
    n_outliers = int((fit.doc_topics == OUTLIER).sum())
    if n_outliers:
        topic_rows.append({"week": week, "model_version": version, "topic_id": OUTLIER,
                           "reason_id": reason_id(version, OUTLIER), "label": OUTLIER_LABEL, "keywords": [],
                           "size": n_outliers, "fitted_at": now})

    scores = score_messages(messages, rule)
    message_topics = pd.DataFrame({
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
    })
    return WeeklyFit(week=week, model_version=version, artifact_path=path, fit=fit,
                     topics=pd.DataFrame(topic_rows), message_topics=message_topics)


def rows(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain Python values (NaN/NA → None, Timestamps → datetimes) for ``to_arrow``."""
    out = []
    for record in frame.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif not isinstance(value, (list, tuple)) and pd.isna(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            clean[key] = value
        out.append(clean)
    return out


def write_week(settings: Settings, identifier: str, frame: pd.DataFrame, week: str) -> int:
    """Replace ``week``'s rows of the contract table ``identifier`` with ``frame``; returns the row count."""
    table = lake_catalog.ensure_table(lake_catalog.load(settings), identifier)
    lake_catalog.replace_week(table, lake_catalog.to_arrow(identifier, rows(frame)), week)
    return len(frame)


def write_weekly_fit(settings: Settings, result: WeeklyFit) -> None:
    write_week(settings, ML_TOPICS.identifier, result.topics, result.week)
    write_week(settings, ML_MESSAGE_TOPICS.identifier, result.message_topics, result.week)
