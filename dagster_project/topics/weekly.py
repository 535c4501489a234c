"""One week's topic fit end to end, as plain functions (the Dagster assets are shells over these).

1. :func:`fit_week` — messages of the week → embeddings (reused from ``ml.embeddings`` where stored,
   :mod:`dagster_project.topics.embeddings`) → BERTopic fit → artefact on disk, with the
   week's topic rows, per-message rows (topic, similarity, sentiment, dissatisfied) and embeddings
   saved beside it (:func:`save_fit`; ``<week>/FITTED.json`` points at the week's latest fit).
2. :func:`resolve_reasons` — the reason registry (``dagster_project.topics.registry``) maps the
   fit's topics to stable reason ids; writes ``ml.reasons`` (the week's snapshot),
   ``ml.reason_mappings``, ``ml.reason_events`` and puts reason ids and labels into the artefact.
3. :func:`write_topic_tables` — ``ml.topics`` and ``ml.message_topics`` with registry reason ids.
Every write replaces the week's rows, so any week replays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from dagster_project.topics.embeddings import embed_with_store
from dagster_project.topics.model import (
    EMBEDDING_MODEL,
    OUTLIER,
    OUTLIER_LABEL,
    Embedder,
    FitResult,
    TopicModelParams,
    fit_topics,
    ARTIFACT_FILE,
    _write_json,
    model_version_for,
    reason_id,
    save_artifact,
    topics_root,
)
from dagster_project.topics.registry import (
    OUTLIER_REASON_ID,
    Reason,
    RegistryParams,
    RegistryUpdate,
    TopicIn,
    apply_labels,
    load_label_overrides,
    update as update_registry,
)
from dagster_project.topics.sentiment import DissatisfactionRule, score_messages
from lake import catalog as lake_catalog
from lake.schemas import ML_MESSAGE_TOPICS, ML_REASON_EVENTS, ML_REASON_MAPPINGS, ML_REASONS, ML_TOPICS
from lake.settings import Settings
from lake.weeks import parse_week

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


def fit_week(messages: pd.DataFrame, week: str, embedder: Embedder, settings: Settings,
             params: TopicModelParams = TopicModelParams(), rule: DissatisfactionRule = DissatisfactionRule(),
             log: Callable[[str], None] = lambda _: None, now: datetime | None = None,
             embedding_model: str = EMBEDDING_MODEL) -> WeeklyFit:
    """Fit the week's model on ``messages`` (columns of the cleaned mart), save the artefact, build the rows.

    ``embedding_model`` names the model ``embedder`` runs (the key of its vectors in ``ml.embeddings``).
    """
    missing = set(MESSAGE_COLUMNS) - set(messages.columns)
    if missing:
        raise ValueError(f"messages lack columns {sorted(missing)}")
    now = now or datetime.now(timezone.utc)
    messages = messages.reset_index(drop=True)
    texts = messages["text"].astype(str).tolist()
    log(f"{week}: embedding {len(texts)} messages")
    stored = embed_with_store(settings, messages, embedder, embedding_model, batch_size=params.embed_batch_size,
                              log=log, progress=lambda done, total: log(f"embedded {done}/{total} messages"))
    embeddings = stored.embeddings
    fit = fit_topics(texts, embeddings, params, log=log)
    doc_ids = (messages["source"].astype(str) + "/" + messages["message_id"].astype(str)).tolist()
    version = model_version_for(week, doc_ids, params, embedding_model)
    path = save_artifact(settings, fit, week, version, embedding_model)
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
    result = WeeklyFit(week=week, model_version=version, artifact_path=path, fit=fit,
                       topics=pd.DataFrame(topic_rows), message_topics=message_topics,
                       embeddings_reused=stored.reused, embeddings_computed=stored.computed)
    save_fit(settings, result, embeddings)
    return result


FITTED_FILE = "FITTED.json"


def save_fit(settings: Settings, result: WeeklyFit, embeddings) -> None:
    """The week's rows and embeddings beside the artefact, and ``<week>/FITTED.json`` pointing at it."""
    import numpy as np

    result.topics.to_parquet(result.artifact_path / "topics.parquet", index=False)
    result.message_topics.to_parquet(result.artifact_path / "message_topics.parquet", index=False)
    np.save(result.artifact_path / "embeddings.npy", np.asarray(embeddings, dtype=np.float32))
    _write_json(topics_root(settings) / result.week / FITTED_FILE,
                {"path": str(result.artifact_path.resolve()), "model_version": result.model_version})


def fitted_artifact_path(settings: Settings, week: str) -> Path:
    """The artefact folder of the week's latest fit (raises FileNotFoundError before any fit)."""
    parse_week(week)
    pointer = topics_root(settings) / week / FITTED_FILE
    if not pointer.exists():
        raise FileNotFoundError(f"{week} has no fitted topic model yet: materialize ml/topic_model first")
    return Path(json.loads(pointer.read_text())["path"])


def dissatisfied_shares(topic_ids, dissatisfied) -> dict[int, float]:
    """Per topic, the share of its messages that are dissatisfied (one value per message in each)."""
    frame = pd.DataFrame({"topic_id": pd.Series(topic_ids).astype(int).to_numpy(),
                          "dissatisfied": pd.Series(dissatisfied).astype(bool).to_numpy()})
    return {int(t): float(v) for t, v in frame.groupby("topic_id")["dissatisfied"].mean().items()}


def topics_in(fit: FitResult, dissatisfied=None) -> list[TopicIn]:
    """The fit's topics as the registry takes them; ``dissatisfied`` (one bool per document) gives
    each its dissatisfied share (without it the share is unknown and every topic counts as a reason)."""
    shares = dissatisfied_shares(fit.doc_topics, dissatisfied) if dissatisfied is not None else {}
    return [TopicIn(t.topic_id, t.label, tuple(float(v) for v in e), t.size, shares.get(t.topic_id))
            for t, e in zip(fit.topics, fit.topic_embeddings)]


def _artifact_topics(path: Path) -> tuple[dict, list[TopicIn]]:
    meta = json.loads((path / ARTIFACT_FILE).read_text())
    mt = pd.read_parquet(path / "message_topics.parquet", columns=["topic_id", "dissatisfied"])
    shares = dissatisfied_shares(mt["topic_id"], mt["dissatisfied"])
    return meta, [TopicIn(int(t["topic_id"]), t.get("topic_label", t["label"]), tuple(t["embedding"]), int(t["size"]),
                          shares.get(int(t["topic_id"]), 0.0))
                  for t in meta["topics"]]


def registry_before(settings: Settings, week: str) -> tuple[str | None, list[Reason]]:
    """The registry snapshot of the latest week before ``week`` in ``ml.reasons`` (None, [] when none)."""
    table = lake_catalog.read(lake_catalog.load(settings), ML_REASONS.identifier).to_pandas()
    earlier = sorted((w for w in set(table["week"]) if parse_week(w) < parse_week(week)), key=parse_week)
    if not earlier:
        return None, []
    snap = table[table["week"] == earlier[-1]].sort_values("reason_id")
    return earlier[-1], [Reason(r.reason_id, r.label, tuple(r.embedding), r.born_week, r.last_seen_week, r.status,
                                int(r.size)) for r in snap.itertuples()]


@dataclass(frozen=True)
class ReasonsOutcome:
    week: str
    model_version: str
    previous_week: str | None  # the registry snapshot it started from
    update: RegistryUpdate
    labels: dict[str, str]  # reason_id -> label (analyst overrides applied)


def resolve_reasons(settings: Settings, week: str, params: RegistryParams = RegistryParams(),
                    labels_file: Path | str | None = None, now: datetime | None = None) -> ReasonsOutcome:
    """Match the week's fitted topics to the registry; write the registry tables and the artefact's reason ids."""
    now = now or datetime.now(timezone.utc)
    path = fitted_artifact_path(settings, week)
    meta, topics = _artifact_topics(path)
    version = meta["model_version"]
    previous_week, reasons = registry_before(settings, week)
    upd = update_registry(reasons, topics, week, params)
    labels = apply_labels({r.reason_id: r.label for r in upd.reasons}, load_label_overrides(labels_file))

    write_week(settings, ML_REASONS.identifier, pd.DataFrame([
        {"week": week, "reason_id": r.reason_id, "label": labels[r.reason_id], "embedding": list(r.embedding),
         "born_week": r.born_week, "last_seen_week": r.last_seen_week, "status": r.status, "size": r.size,
         "updated_at": now} for r in upd.reasons], columns=[f.name for f in ML_REASONS.schema.fields]), week)
    write_week(settings, ML_REASON_MAPPINGS.identifier, pd.DataFrame([
        {"week": week, "model_version": version, "topic_id": m.topic_id, "reason_id": m.reason_id,
         "similarity": m.similarity, "match": m.event, "mapped_at": now} for m in upd.mappings],
        columns=[f.name for f in ML_REASON_MAPPINGS.schema.fields]), week)
    write_week(settings, ML_REASON_EVENTS.identifier, pd.DataFrame([
        {"week": week, "model_version": version, "event": e.event, "reason_ids": list(e.reason_ids),
         "detail": e.detail, "recorded_at": now} for e in upd.events],
        columns=[f.name for f in ML_REASON_EVENTS.schema.fields]), week)

    reason_of = upd.reason_of()
    for t in meta["topics"]:  # the alert job reads reason ids and labels from the artefact
        t.setdefault("topic_label", t["label"])
        t["reason_id"] = reason_of[int(t["topic_id"])]
        t["label"] = labels.get(t["reason_id"], t["topic_label"])  # not_a_reason topics keep their own
    _write_json(path / ARTIFACT_FILE, meta)
    return ReasonsOutcome(week=week, model_version=version, previous_week=previous_week, update=upd, labels=labels)


def write_topic_tables(settings: Settings, week: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ml.topics`` and ``ml.message_topics`` of the week's fit, with the registry's reason ids and labels."""
    path = fitted_artifact_path(settings, week)
    meta = json.loads((path / ARTIFACT_FILE).read_text())
    reason_of = {int(t["topic_id"]): t.get("reason_id") for t in meta["topics"]}
    label_of = {int(t["topic_id"]): t["label"] for t in meta["topics"]}
    if any(r is None for r in reason_of.values()):
        raise ValueError(f"{path}: topics without reason ids; materialize ml/reasons for {week} first")
    reason_of[OUTLIER] = OUTLIER_REASON_ID
    label_of[OUTLIER] = OUTLIER_LABEL
    topics = pd.read_parquet(path / "topics.parquet")
    message_topics = pd.read_parquet(path / "message_topics.parquet")
    topics["reason_id"] = topics["topic_id"].map(reason_of)
    topics["label"] = topics["topic_id"].map(label_of)
    message_topics["reason_id"] = message_topics["topic_id"].map(reason_of)
    write_week(settings, ML_TOPICS.identifier, topics, week)
    write_week(settings, ML_MESSAGE_TOPICS.identifier, message_topics, week)
    return topics, message_topics


def rows(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain Python values (NaN/NA → None, Timestamps → datetimes) for ``to_arrow``."""
    out = []
    for record in frame.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # arrays read back from parquet
                value = value.tolist()
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




def stream_batch_agreement(settings: Settings, week: str) -> tuple[float, int]:
    """Share of the week's non-outlier messages (batch fit) that the streaming path — ``TopicArtifact``
    assigning their embeddings to the nearest topic centroid — puts in the same topic; and that count."""
    import numpy as np

    from dagster_project.topics.model import TopicArtifact

    path = fitted_artifact_path(settings, week)
    batch = pd.read_parquet(path / "message_topics.parquet", columns=["topic_id"])["topic_id"].to_numpy()
    embeddings = np.load(path / "embeddings.npy")
    stream = np.array([a.topic_id for a in TopicArtifact(path, json.loads((path / ARTIFACT_FILE).read_text()),
                                                           embedder=object()).assign_embeddings(embeddings)])
    kept = batch != OUTLIER
    if not kept.any():
        return 1.0, 0
    return float(np.mean(stream[kept] == batch[kept])), int(kept.sum())
