"""The analyst's edits of the registry on disk: ``ml.reason_edits`` (append-only) read and written, and the
weekly hook that lays them over a week's registry update (the rules: :mod:`reasons.registry.edits`,
docs/reason_edits.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from lake import catalog as lake_catalog
from lake.schemas import ML_REASON_EDITS, ML_REASONS
from lake.settings import Settings
from lake.weeks import parse_week
from reasons.registry.edits import Edit, apply_edits, edited_labels
from reasons.registry.model import RegistryParams, RegistryUpdate, TopicIn
from reasons.topics.artifact import ARTIFACT_FILE
from reasons.weekly.topic_fit import fitted_artifact_path


def _row(edit: Edit) -> dict:
    return {
        "edit_id": edit.edit_id,
        "week": edit.week,
        "action": edit.action,
        "reason_id": edit.reason_id,
        "other_ids": list(edit.other_ids),
        "label": edit.label,
        "topic_ids": list(edit.topic_ids),
        "embedding": list(edit.embedding) if edit.embedding else None,
        "rest_embedding": list(edit.rest_embedding) if edit.rest_embedding else None,
        "made_by": edit.made_by,
        "made_at": edit.made_at,
        "why": edit.why,
    }


def _edit(row: Mapping) -> Edit:
    return Edit(
        edit_id=row["edit_id"],
        week=row["week"],
        action=row["action"],
        reason_id=row["reason_id"],
        other_ids=tuple(row["other_ids"] or ()),
        label=row["label"],
        topic_ids=tuple(int(t) for t in row["topic_ids"] or ()),
        embedding=tuple(row["embedding"]) if row["embedding"] else None,
        rest_embedding=tuple(row["rest_embedding"]) if row["rest_embedding"] else None,
        made_by=row["made_by"],
        made_at=row["made_at"],
        why=row["why"],
    )


def read_edits(settings: Settings) -> list[Edit]:
    """Every recorded edit, oldest first (none before the first)."""
    rows = lake_catalog.read(lake_catalog.load(settings), ML_REASON_EDITS.identifier).to_pylist()
    return sorted((_edit(r) for r in rows), key=lambda e: (e.made_at.timestamp() if e.made_at else 0.0, e.edit_id))


def record_edit(settings: Settings, edit: Edit) -> None:
    """Append ``edit`` to ``ml.reason_edits`` (one commit; the table is created on the first edit)."""
    table = lake_catalog.ensure_table(lake_catalog.load(settings), ML_REASON_EDITS.identifier)
    lake_catalog.append(table, lake_catalog.to_arrow(ML_REASON_EDITS.identifier, [_row(edit)]))


def latest_week(settings: Settings) -> str | None:
    """The registry's latest week in ``ml.reasons`` (None before the first weekly run)."""
    weeks = lake_catalog.read(lake_catalog.load(settings), ML_REASONS.identifier, selected_fields=("week",))
    return max(set(weeks.column("week").to_pylist()), key=parse_week, default=None)


def reason_topics(settings: Settings, week: str, reason_id: str) -> list[TopicIn]:
    """The topics of ``week``'s fit that its run mapped to ``reason_id`` (the artefact's), with their raw
    centroids: what a split shares out."""
    meta = json.loads((fitted_artifact_path(settings, week) / ARTIFACT_FILE).read_text())
    return [
        TopicIn(
            int(t["topic_id"]),
            t.get("topic_label", t["label"]),
            tuple(t.get("reason_embedding", t["embedding"])),
            int(t["size"]),
        )
        for t in meta["topics"]
        if t.get("reason_id") == reason_id
    ]


def apply_recorded_edits(
    settings: Settings,
    upd: RegistryUpdate,
    labels: Mapping[str, str],
    topics: Sequence[TopicIn],
    params: RegistryParams,
) -> tuple[RegistryUpdate, dict[str, str]]:
    """The weekly hook (:func:`reasons.weekly.reason_ids.resolve_reasons`): the week's registry update and
    labels with the recorded edits in force for the week laid over."""
    edits = read_edits(settings)
    edited = apply_edits(upd, edits, topics, params.match_threshold)
    return edited, edited_labels(labels, edited, edits)
