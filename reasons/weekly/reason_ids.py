"""Step 2 of a week: stable reason ids for the fitted topics (the registry), as plain functions.

:func:`resolve_reasons` — the reason registry (:mod:`reasons.registry`) maps the fit's topics to
stable reason ids; writes ``ml.reasons`` (the week's snapshot), ``ml.reason_mappings``,
``ml.reason_events`` and puts reason ids and labels into the artefact. :func:`write_topic_tables`
— ``ml.topics`` and ``ml.message_topics`` with registry reason ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lake import catalog as lake_catalog
from lake.schemas import ML_MESSAGE_TOPICS, ML_REASON_EVENTS, ML_REASON_MAPPINGS, ML_REASONS, ML_TOPICS
from lake.settings import Settings
from lake.weeks import parse_week
from reasons.registry.label_overrides import apply_labels, load_label_overrides
from reasons.registry.matching import update as update_registry
from reasons.registry.model import OUTLIER_REASON_ID, Reason, RegistryParams, RegistryUpdate, TopicIn
from reasons.registry.seeds import with_home_seeds
from reasons.topics.artifact import ARTIFACT_FILE, write_json
from reasons.topics.params import OUTLIER, OUTLIER_LABEL, FitResult, week_relative
from reasons.weekly.reason_edits import apply_recorded_edits
from reasons.weekly.tables import write_week
from reasons.weekly.topic_fit import fitted_artifact_path


def dissatisfied_shares(topic_ids, dissatisfied) -> dict[int, float]:
    """Per topic, the share of its messages that are dissatisfied (one value per message in each)."""
    frame = pd.DataFrame(
        {
            "topic_id": pd.Series(topic_ids).astype(int).to_numpy(),
            "dissatisfied": pd.Series(dissatisfied).astype(bool).to_numpy(),
        }
    )
    return {int(t): float(v) for t, v in frame.groupby("topic_id")["dissatisfied"].mean().items()}


def topics_in(fit: FitResult, dissatisfied=None) -> list[TopicIn]:
    """The fit's topics as the registry takes them; ``dissatisfied`` (one bool per document) gives
    each its dissatisfied share (without it the share is unknown and every topic counts as a reason)."""
    shares = dissatisfied_shares(fit.doc_topics, dissatisfied) if dissatisfied is not None else {}
    coherence = fit.coherences()
    relative = fit.week_relative_coherences()
    return [
        TopicIn(
            t.topic_id,
            t.label,
            tuple(float(v) for v in e),
            t.size,
            shares.get(t.topic_id),
            coherence[t.topic_id],
            tuple(float(v) for v in f),
            relative[t.topic_id],
        )
        for t, e, f in zip(fit.topics, fit.reason_embeddings(), fit.topic_embeddings)
    ]


def _artifact_topics(path: Path) -> tuple[dict, list[TopicIn]]:
    meta = json.loads((path / ARTIFACT_FILE).read_text())
    mt = pd.read_parquet(path / "message_topics.parquet", columns=["topic_id", "dissatisfied", "similarity"])
    shares = dissatisfied_shares(mt["topic_id"], mt["dissatisfied"])
    coherence = {int(k): float(v) for k, v in mt.groupby("topic_id")["similarity"].mean().items()}
    return meta, [
        TopicIn(
            int(t["topic_id"]),
            t.get("topic_label", t["label"]),
            tuple(t.get("reason_embedding", t["embedding"])),
            int(t["size"]),
            shares.get(int(t["topic_id"]), 0.0),
            coherence.get(int(t["topic_id"])),
            tuple(t["embedding"]),
            week_relative(t.get("raw_coherence"), meta.get("week_coherence")),  # None: fitted before they were kept
        )
        for t in meta["topics"]
    ]


def registry_before(settings: Settings, week: str) -> tuple[str | None, list[Reason]]:
    """The registry snapshot of the latest week before ``week`` in ``ml.reasons`` (None, [] when none)."""
    table = lake_catalog.read(lake_catalog.load(settings), ML_REASONS.identifier).to_pandas()
    earlier = sorted((w for w in set(table["week"]) if parse_week(w) < parse_week(week)), key=parse_week)
    if not earlier:
        return None, []
    snap = table[table["week"] == earlier[-1]].sort_values("reason_id")
    return earlier[-1], [
        Reason(r.reason_id, r.label, tuple(r.embedding), r.born_week, r.last_seen_week, r.status, int(r.size))
        for r in snap.itertuples()
    ]


@dataclass(frozen=True)
class ReasonsOutcome:
    week: str
    model_version: str
    previous_week: str | None  # the registry snapshot it started from
    update: RegistryUpdate
    labels: dict[str, str]  # reason_id -> label (analyst overrides applied)


def resolve_reasons(
    settings: Settings,
    week: str,
    params: RegistryParams = RegistryParams(),
    labels_file: Path | str | None = None,
    now: datetime | None = None,
) -> ReasonsOutcome:
    """Match the week's fitted topics to the registry; write the registry tables and the artefact's reason ids."""
    now = now or datetime.now(UTC)
    path = fitted_artifact_path(settings, week)
    meta, topics = _artifact_topics(path)
    version = meta["model_version"]
    previous_week, reasons = registry_before(settings, week)
    # the team's seeds (<home>/reasons.yaml) matched first, embedded by the week's model (docs/seeded_reasons.md)
    upd = update_registry(reasons, topics, week, with_home_seeds(params, settings.home, meta["embedding_model"]))
    labels = apply_labels({r.reason_id: r.label for r in upd.reasons}, load_label_overrides(labels_file))
    upd, labels = apply_recorded_edits(settings, upd, labels, topics, params)  # docs/reason_edits.md
    _write_registry(settings, week, version, upd, labels, now)

    write_json(path / ARTIFACT_FILE, with_reasons(meta, upd, labels))
    return ReasonsOutcome(week=week, model_version=version, previous_week=previous_week, update=upd, labels=labels)


def with_reasons(meta: dict, upd: RegistryUpdate, labels: Mapping[str, str]) -> dict:
    """The artefact's ``meta`` with each topic's reason id, label and whether it alerts: what the alert
    job reads (``not_a_reason`` topics keep their own label)."""
    alerts = {m.topic_id: m.alerts for m in upd.mappings}
    reason_of = upd.reason_of()
    for t in meta["topics"]:
        t.setdefault("topic_label", t["label"])
        t["reason_id"] = reason_of[int(t["topic_id"])]
        t["label"] = labels.get(t["reason_id"], t["topic_label"])
        t["alerts"] = alerts[int(t["topic_id"])]
    return meta


def _write_registry(
    settings: Settings, week: str, version: str, upd: RegistryUpdate, labels: dict[str, str], now: datetime
) -> None:
    """The week's rows of ``ml.reasons`` (the registry snapshot), ``ml.reason_mappings``, ``ml.reason_events``."""
    reasons = [
        {
            "reason_id": r.reason_id,
            "label": labels[r.reason_id],
            "embedding": list(r.embedding),
            "born_week": r.born_week,
            "last_seen_week": r.last_seen_week,
            "status": r.status,
            "size": r.size,
            "updated_at": now,
        }
        for r in upd.reasons
    ]
    mappings = [
        {
            "model_version": version,
            "topic_id": m.topic_id,
            "reason_id": m.reason_id,
            "similarity": m.similarity,
            "match": m.event,
            "mapped_at": now,
        }
        for m in upd.mappings
    ]
    events = [
        {
            "model_version": version,
            "event": e.event,
            "reason_ids": list(e.reason_ids),
            "detail": e.detail,
            "recorded_at": now,
        }
        for e in upd.events
    ]
    for spec, rows in ((ML_REASONS, reasons), (ML_REASON_MAPPINGS, mappings), (ML_REASON_EVENTS, events)):
        frame = pd.DataFrame([{"week": week, **row} for row in rows], columns=[f.name for f in spec.schema.fields])
        write_week(settings, spec.identifier, frame, week)


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
