"""The analyst's edits of the reason registry: merge, split, rename, not a reason. Pure computation, no I/O
(the edits are stored in ``ml.reason_edits`` by :mod:`reasons.weekly.reason_edits`; the rules, and why:
docs/reason_edits.md).

An edit is made while week W is the registry's latest and is in force for W and every later week, replays
included, never for an earlier week (:func:`in_force`). Each week the registry's own update runs first
(:mod:`reasons.registry.matching`); :func:`apply_edits` then lays every edit in force over it, in the order
they were made:

- **merge** ``into ← others``: topics mapped to a folded reason go to ``into``; a reason born this week at
  ``match_threshold`` or more to a folded one is its return and goes to ``into`` too (the registry no longer
  matches a merged reason); the folded reasons' status is ``merged``.
- **split** ``reason → new``: the topics of the reason and of its split-off are shared between the two by
  their cosine to the two centroids recorded with the edit; a merge of the two by the registry is undone.
  The new id is ``<reason>.<n>`` (``R0003.1``), outside the registry's ``R<number>`` births.
- **rename**: the label wins over the latest topic's and over ``reasons/reason_labels.yaml``.
- **not a reason**: its topics map to ``not_a_reason`` (never elected), a reason born close to it as well;
  its status is ``not_a_reason`` (the registry keeps matching it, so its topics are recognised).

Applying the edits to their result again changes nothing: a replayed week gives the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from lake.weeks import parse_week
from reasons.registry.candidates import unit
from reasons.registry.model import (
    ALIVE,
    DEAD,
    MERGED,
    NOT_A_REASON_ID,
    Event,
    Reason,
    ReasonMapping,
    RegistryUpdate,
    TopicIn,
)

MERGE, SPLIT, RENAME, NOT_A_REASON = "merge", "split", "rename", "not_a_reason"
ACTIONS = (MERGE, SPLIT, RENAME, NOT_A_REASON)
EXCLUDED = NOT_A_REASON_ID  # the registry status of a reason an analyst marked as no reason to be unhappy


class ReasonEditError(ValueError):
    """An edit that cannot be made (an unknown, dead or merged reason, a merge into itself, no why …)."""


@dataclass(frozen=True)
class Edit:
    """One analyst edit (a row of ``ml.reason_edits``)."""

    edit_id: str
    week: str  # the registry's latest week when made: in force for it and every later week
    action: str  # merge | split | rename | not_a_reason
    reason_id: str  # merge: the survivor; split: the reason split; rename, not a reason: the reason
    other_ids: tuple[str, ...] = ()  # merge: the reasons folded in; split: the new reason's id
    label: str | None = None  # rename: the new label; split: the new reason's label
    topic_ids: tuple[int, ...] = ()  # split: the week's topics that went to the new reason
    embedding: tuple[float, ...] | None = None  # split: the new reason's unit centroid
    rest_embedding: tuple[float, ...] | None = None  # split: the unit centroid of what stays
    made_by: str = ""
    made_at: datetime | None = None
    why: str = ""

    def describe(self) -> str:
        what = {
            MERGE: f"{', '.join(self.other_ids)} folded into {self.reason_id}",
            SPLIT: f"{', '.join(self.other_ids)} split off {self.reason_id} (topics {_ids(self.topic_ids)} of {self.week})",
            RENAME: f"{self.reason_id} renamed '{self.label}'",
            NOT_A_REASON: f"{self.reason_id} marked not a reason",
        }[self.action]
        return f"edit {self.edit_id} by {self.made_by}: {what}: {self.why}"


def _ids(ids: Iterable[object]) -> str:
    return ",".join(str(i) for i in ids)


def in_force(edits: Iterable[Edit], week: str) -> list[Edit]:
    """The edits made while ``week`` or an earlier week was the latest, oldest first."""
    return sorted(
        (e for e in edits if parse_week(e.week) <= parse_week(week)),
        key=lambda e: (e.made_at.timestamp() if e.made_at else 0.0, e.edit_id),
    )


# -- a new edit, checked against the current registry ----------------------------------------------------


def current(reasons: Sequence[Reason], edits: Sequence[Edit], week: str) -> tuple[Reason, ...]:
    """The registry ``reasons`` (the snapshot of ``week``) with the edits in force laid over its statuses,
    labels and split-offs: what the next run will start from (topics are remapped by :func:`apply_edits`)."""
    by_id = {r.reason_id: r for r in reasons}
    for e in in_force(edits, week):
        if e.action == MERGE:
            for rid in e.other_ids:
                if rid in by_id:
                    by_id[rid] = replace(by_id[rid], status=MERGED)
        elif e.action == RENAME and e.reason_id in by_id:
            by_id[e.reason_id] = replace(by_id[e.reason_id], label=e.label or by_id[e.reason_id].label)
        elif e.action == NOT_A_REASON and e.reason_id in by_id:
            by_id[e.reason_id] = replace(by_id[e.reason_id], status=EXCLUDED)
        elif e.action == SPLIT and e.reason_id in by_id and e.other_ids[0] not in by_id:
            source = by_id[e.reason_id]
            by_id[e.reason_id] = replace(source, embedding=e.rest_embedding or source.embedding)
            by_id[e.other_ids[0]] = Reason(
                e.other_ids[0], e.label or f"{source.label} (split)", e.embedding or (), week, week, ALIVE, 0
            )
    return tuple(sorted(by_id.values(), key=lambda r: r.reason_id))


def live(registry: Sequence[Reason], reason_id: str) -> Reason:
    """``reason_id``'s reason in ``registry`` when an edit may name it (alive), else :class:`ReasonEditError`."""
    found = {r.reason_id: r for r in registry}.get(reason_id)
    if found is None:
        raise ReasonEditError(f"{reason_id} is not in the registry (`reasonlake reasons list` shows its ids)")
    why = {
        DEAD: f"is dead (unseen since {found.last_seen_week}): it comes back by itself if its topics do",
        MERGED: "was merged into another reason: edit that one (`reasonlake reasons history " + reason_id + "`)",
        EXCLUDED: "is marked not a reason",
    }.get(found.status)
    if why:
        raise ReasonEditError(f"{reason_id} {why}")
    return found


def check(edit: Edit, registry: Sequence[Reason], topics: Sequence[TopicIn] = ()) -> Edit:
    """``edit`` checked against the current ``registry`` (:func:`current`), completed when a split (its new id
    and the two centroids from ``topics``, the latest week's topics mapped to the reason); else
    :class:`ReasonEditError` saying what is wrong."""
    if edit.action not in ACTIONS:
        raise ReasonEditError(f"unknown edit {edit.action!r}: one of {', '.join(ACTIONS)}")
    if not edit.why.strip():
        raise ReasonEditError("--why is empty: say why, it is kept with the edit")
    live(registry, edit.reason_id)
    if edit.action == MERGE:
        if not edit.other_ids:
            raise ReasonEditError(f"name the reasons to fold into {edit.reason_id}")
        for rid in edit.other_ids:
            if rid == edit.reason_id:
                raise ReasonEditError(f"{rid} cannot be merged into itself")
            live(registry, rid)
        if len(set(edit.other_ids)) < len(edit.other_ids):
            raise ReasonEditError(f"a reason is named twice: {' '.join(edit.other_ids)}")
    if edit.action == RENAME and not (edit.label or "").strip():
        raise ReasonEditError(f"the new label of {edit.reason_id} is empty")
    if edit.action == SPLIT:
        return _checked_split(edit, registry, topics)
    return edit


def _checked_split(edit: Edit, registry: Sequence[Reason], topics: Sequence[TopicIn]) -> Edit:
    mine = {t.topic_id: t for t in topics}
    if not edit.topic_ids:
        raise ReasonEditError("name the topics that go to the new reason (--topics)")
    unknown = [t for t in edit.topic_ids if t not in mine]
    if unknown:
        raise ReasonEditError(
            f"topic(s) {_ids(unknown)} are not mapped to {edit.reason_id} in {edit.week}: "
            f"its topics are {_ids(sorted(mine)) or 'none'}"
        )
    moving = [mine[t] for t in sorted(set(edit.topic_ids))]
    staying = [t for t in mine.values() if t.topic_id not in edit.topic_ids]
    if not staying:
        raise ReasonEditError(f"every topic of {edit.reason_id} would go: rename it instead")
    taken = {r.reason_id for r in registry}
    n = 1
    while f"{edit.reason_id}.{n}" in taken:
        n += 1
    return replace(
        edit,
        other_ids=(f"{edit.reason_id}.{n}",),
        topic_ids=tuple(t.topic_id for t in moving),
        label=(edit.label or "").strip() or moving[0].label,
        embedding=_centroid(moving),
        rest_embedding=_centroid(staying),
    )


def _centroid(topics: Sequence[TopicIn]) -> tuple[float, ...]:
    """The size-weighted unit mean of the topics' embeddings."""
    weights = np.array([max(t.size, 1) for t in topics], dtype=np.float64)
    mean = (np.array([t.embedding for t in topics], dtype=np.float64) * weights[:, None]).sum(axis=0)
    return tuple(float(v) for v in unit(mean))


# -- the edits laid over a week's registry update ------------------------------------------------------


@dataclass
class _Week:
    """The update being edited (mutable while the edits are applied)."""

    week: str
    by_id: dict[str, Reason]
    mappings: list[ReasonMapping]
    events: list[Event]
    sizes: Mapping[int, int]
    match_threshold: float

    def topics_of(self, reason_id: str) -> list[int]:
        return [m.topic_id for m in self.mappings if m.reason_id == reason_id]

    def remap(self, moved: Callable[[ReasonMapping], str | None]) -> int:
        """Each mapping ``moved`` gives a new reason id goes to it; returns how many moved."""
        n, out = 0, []
        for m in self.mappings:
            to = moved(m)
            if to is None or to == m.reason_id:
                out.append(m)
                continue
            n += 1
            out.append(
                ReasonMapping(m.topic_id, NOT_A_REASON_ID, 0.0, NOT_A_REASON_ID, m.alerts)
                if to == NOT_A_REASON_ID
                else replace(m, reason_id=to, event="matched" if m.event != NOT_A_REASON_ID else m.event)
            )
        self.mappings = out
        return n

    def seen(self, reason_id: str) -> None:
        """``reason_id`` after its topics changed: last seen this week with their size, or as before."""
        reason, topics = self.by_id.get(reason_id), self.topics_of(reason_id)
        if reason is None or not topics:
            return
        status = ALIVE if reason.status == DEAD else reason.status
        size = sum(self.sizes.get(t, 0) for t in topics)
        self.by_id[reason_id] = replace(reason, last_seen_week=self.week, size=size, status=status)

    def absorb_births(self, folded: Sequence[str], into: str) -> list[str]:
        """Reasons born this week at ``match_threshold`` or more to a ``folded`` reason: their topics go to
        ``into``, the births are undone. Returns the undone ids."""
        targets = [self.by_id[r] for r in folded if r in self.by_id and self.by_id[r].embedding]
        born = [r for r in self.by_id.values() if r.born_week == self.week and r.reason_id not in folded]
        undone = [
            b.reason_id
            for b in born
            if b.embedding and targets and max(_cos(b.embedding, t.embedding) for t in targets) >= self.match_threshold
        ]
        if undone:
            self.remap(lambda m: into if m.reason_id in undone else None)
            for rid in undone:
                del self.by_id[rid]
            self.events = [e for e in self.events if not set(e.reason_ids) & set(undone)]
        return undone


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return float(unit(np.asarray(a)) @ unit(np.asarray(b)))


def apply_edits(
    upd: RegistryUpdate, edits: Sequence[Edit], topics: Sequence[TopicIn], match_threshold: float
) -> RegistryUpdate:
    """The registry's update of a week with the edits in force for it laid over (one event per edit that
    changed something: ``merged``, ``split``, ``renamed``, ``not_a_reason``, detail ``edit <id> by …``)."""
    state = _Week(
        upd.week,
        dict(upd.by_id()),
        list(upd.mappings),
        list(upd.events),
        {t.topic_id: t.size for t in topics},
        match_threshold,
    )
    embeddings = {t.topic_id: t.embedding for t in topics}
    for e in in_force(edits, upd.week):
        changed = {MERGE: _merge, SPLIT: _split, RENAME: _rename, NOT_A_REASON: _exclude}[e.action]
        what = changed(state, e, embeddings) if e.reason_id in state.by_id else None
        if what:
            event = {MERGE: "merged", SPLIT: "split", RENAME: "renamed", NOT_A_REASON: "not_a_reason"}[e.action]
            state.events.append(Event(event, (e.reason_id, *e.other_ids), f"{e.describe()} ({what})"))
    return RegistryUpdate(
        week=upd.week,
        reasons=tuple(sorted(state.by_id.values(), key=lambda r: r.reason_id)),
        mappings=tuple(sorted(state.mappings, key=lambda m: m.topic_id)),
        events=tuple(state.events),
    )


def _merge(state: _Week, e: Edit, _: Mapping[int, Sequence[float]]) -> str | None:
    folded = [r for r in e.other_ids if r in state.by_id]
    if not folded:
        return None
    undone = state.absorb_births(folded, e.reason_id)
    moved = state.remap(lambda m: e.reason_id if m.reason_id in folded else None)
    newly = [r for r in folded if state.by_id[r].status != MERGED]
    for rid in folded:
        state.by_id[rid] = replace(state.by_id[rid], status=MERGED)
    state.seen(e.reason_id)
    if not (moved or undone or newly):
        return None
    return f"{moved} topic(s) moved" + (f"; births undone: {', '.join(undone)}" if undone else "")


def _exclude(state: _Week, e: Edit, _: Mapping[int, Sequence[float]]) -> str | None:
    undone = state.absorb_births([e.reason_id], NOT_A_REASON_ID)
    moved = state.remap(lambda m: NOT_A_REASON_ID if m.reason_id == e.reason_id else None)
    was = state.by_id[e.reason_id].status
    state.by_id[e.reason_id] = replace(state.by_id[e.reason_id], status=EXCLUDED)
    if not (moved or undone or was != EXCLUDED):
        return None
    return f"{moved + len(undone)} topic(s) not a reason" + (f"; births undone: {', '.join(undone)}" if undone else "")


def _rename(state: _Week, e: Edit, _: Mapping[int, Sequence[float]]) -> str | None:
    reason = state.by_id[e.reason_id]
    if not e.label or reason.label == e.label:
        return None
    state.by_id[e.reason_id] = replace(reason, label=e.label)
    return f"was '{reason.label}'"


def _split(state: _Week, e: Edit, embeddings: Mapping[int, Sequence[float]]) -> str | None:
    source, new = e.reason_id, e.other_ids[0]
    if not (e.embedding and e.rest_embedding):
        return None
    first = new not in state.by_id
    if first:
        state.by_id[new] = Reason(new, e.label or source, e.embedding, state.week, state.week, ALIVE, 0)
        state.by_id[source] = replace(state.by_id[source], embedding=e.rest_embedding)
    # a merge of the two by the registry this week is undone: the analyst keeps them apart
    undone = [ev for ev in state.events if ev.event == "merged" and set(ev.reason_ids) == {source, new}]
    state.events = [ev for ev in state.events if ev not in undone]
    for rid in (source, new):
        if state.by_id[rid].status == MERGED and undone:
            state.by_id[rid] = replace(state.by_id[rid], status=ALIVE)

    def side(m: ReasonMapping) -> str | None:
        if m.reason_id not in (source, new) or m.topic_id not in embeddings:
            return None
        emb = embeddings[m.topic_id]
        return new if _cos(emb, e.embedding or ()) > _cos(emb, e.rest_embedding or ()) else source

    moved = state.remap(side)
    state.seen(source)
    state.seen(new)
    if not (first or moved or undone):
        return None
    return f"{len(state.topics_of(new))} topic(s) to {new}, {len(state.topics_of(source))} stay" + (
        "; the registry's merge of the two undone" if undone else ""
    )


def edited_labels(labels: Mapping[str, str], upd: RegistryUpdate, edits: Sequence[Edit]) -> dict[str, str]:
    """``reason_id -> label`` of the edited update: a rename (or a split's label) wins over ``labels`` (the
    registry's with ``reasons/reason_labels.yaml`` laid over), which win over the reason's own."""
    named: dict[str, str] = {}
    for e in in_force(edits, upd.week):
        if e.action == RENAME and e.label:
            named[e.reason_id] = e.label
        elif e.action == SPLIT and e.label:
            named[e.other_ids[0]] = e.label
    return {r.reason_id: named.get(r.reason_id, labels.get(r.reason_id, r.label)) for r in upd.reasons}
