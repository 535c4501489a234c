"""Steps 1-6 of the registry's week: the candidates (:mod:`reasons.registry.candidates`) matched to the
known reasons. Pure computation (numpy, scipy), no I/O.

The candidates are matched to the known reasons by cosine similarity of their embeddings:

0. **seeded** — first, a candidate at ``seed_threshold`` or more to one of the team's seeds
   (``RegistryParams.seeds``, :mod:`reasons.registry.seeds`) becomes that seed's reason (born under its reserved
   id the first week, matched after; labelled with the seed's name); a seed's reason is matched through its
   seed only, and an older reason close to a seeded candidate merges into the seed's reason (step 4).
1. **matched** — a one-to-one assignment (Hungarian, ``scipy.optimize.linear_sum_assignment``)
   maximising the total similarity of the pairs at ``match_threshold`` or above (no others count). The reason
   keeps its id; its embedding moves towards the topic's (``embedding_momentum``) and its label
   follows the topic's (unless an analyst override names it, see
   :func:`reasons.registry.label_overrides.load_label_overrides`).
2. **born** — a topic that matched nothing becomes a new reason (``R0001``, ``R0002``, … in birth order).
3. **split** — a born topic that is also similar (≥ ``match_threshold``) to a reason another topic
   matched: one issue became two; recorded, both ids live on.
4. **merged** — a live reason that matched nothing this week but is similar to a topic matched to
   another reason: two issues became one; the unmatched reason's status becomes ``merged``.
5. **died** — a live reason unseen for ``death_after_weeks`` weeks becomes ``dead``.
6. **quiet** — a reason whose topics of the week, taken together, sit loosely around their centre (coherence
   below ``min_alert_coherence_ratio`` × the week's median topic coherence, above the catch-all bar) is
   counted and can be elected, but its topics do not alert: a message near a loose reason could be any of
   its mixed complaints, and on real complaints such reasons drew most of the wrong alerts.

A candidate whose messages are mostly not dissatisfied (share < ``min_dissatisfied_share``: praise, plain
questions) is no reason to be unhappy: its topics map to ``not_a_reason`` and never enter the registry.
Dead reasons can still be matched (the issue came back: event ``matched``, detail ``revived``);
merged ones cannot. The state after each week is a full snapshot (``ml.reasons`` rows of that week),
so replaying a week starts from the snapshot of the week before and gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from lake.weeks import parse_week, week_start
from reasons.registry.candidates import below, candidate_of, reason_candidates, unit, week_floor
from reasons.registry.model import (
    ALIVE,
    DEAD,
    MERGED,
    NOT_A_REASON_ID,
    Candidate,
    Event,
    Reason,
    ReasonMapping,
    RegistryParams,
    RegistryUpdate,
    Seed,
    TopicIn,
)
from reasons.registry.seeds import seed_matches


def weeks_between(earlier: str, later: str) -> int:
    return (week_start(later) - week_start(earlier)).days // 7


def update(
    reasons: Sequence[Reason], topics: Sequence[TopicIn], week: str, params: RegistryParams = RegistryParams()
) -> RegistryUpdate:
    """Match ``week``'s topics against the team's seeds (``params.seeds``, :mod:`reasons.registry.seeds`),
    then the rest against the registry ``reasons`` (the state after the week before)."""
    parse_week(week)
    groups, refused, _ = reason_candidates(topics, params)
    not_reasons = [
        g for g in groups if g.dissatisfied_share is not None and g.dissatisfied_share < params.min_dissatisfied_share
    ]
    found = [g for g in groups if g not in not_reasons]  # the week's reason candidates
    seeded = seed_matches(found, params.seeds, params.seed_threshold)
    seed_ids = {s.reason_id for s in params.seeds}
    # the registry's matchable reasons; a seed's reason is matched through its seed only
    known = [r for r in reasons if r.status != MERGED and r.reason_id not in seed_ids]
    sims = _similarities(found, known)
    matched = _match(sims, [i for i in range(len(found)) if i not in seeded], params.match_threshold)
    by_id = {r.reason_id: r for r in reasons}
    events: list[Event] = []
    mappings: list[ReasonMapping] = []
    went_to = {i: known[j].reason_id for i, (j, _) in matched.items()}  # candidate index -> its reason's id
    for k, seed in enumerate(params.seeds):
        members = [i for i, (kk, _) in seeded.items() if kk == k]
        if members:
            mappings += _seeded(
                by_id, events, [found[i] for i in members], seed, [seeded[i][1] for i in members], week, params
            )
            went_to.update({i: seed.reason_id for i in members})
    for i, candidate in enumerate(found):
        if i in matched:
            j, sim = matched[i]
            mappings += _matched(by_id, events, candidate, known[j], sim, week, params)
        elif i not in seeded:
            mappings += _born(by_id, events, candidate, week, sims[i], known, {j for j, _ in matched.values()}, params)
    for group in not_reasons + refused:
        mappings.extend(ReasonMapping(t, NOT_A_REASON_ID, 0.0, NOT_A_REASON_ID) for t in group.topic_ids)
    for group in refused:
        events.append(Event("refused", (), f"{group.describe()}: {group.refusal}"))
    mappings = _quieten_loose(mappings, topics, params, events)
    mappings.sort(key=lambda m: m.topic_id)
    _merge_unmatched(
        by_id, events, found, known, sims, went_to, {j for j, _ in matched.values()}, params.match_threshold
    )
    _bury(by_id, events, week, params.death_after_weeks)
    ordered = tuple(sorted(by_id.values(), key=lambda r: r.reason_id))
    return RegistryUpdate(week=week, reasons=ordered, mappings=tuple(mappings), events=tuple(events))


def _quieten_loose(
    mappings: list[ReasonMapping], topics: Sequence[TopicIn], params: RegistryParams, events: list[Event]
) -> list[ReasonMapping]:
    """``mappings`` with ``alerts`` off for the reasons whose topics of the week, taken as one group, are less
    coherent than ``min_alert_coherence_ratio`` × the week's median topic coherence (event ``quiet``)."""
    floor = week_floor(topics, params.min_alert_coherence_ratio)
    if floor is None:
        return mappings
    by_topic = {t.topic_id: t for t in topics}
    quiet: set[str] = set()
    for reason_id in dict.fromkeys(m.reason_id for m in mappings if m.reason_id != NOT_A_REASON_ID):
        members = sorted(
            (by_topic[m.topic_id] for m in mappings if m.reason_id == reason_id), key=lambda t: (-t.size, t.topic_id)
        )
        group = candidate_of(members)
        if below(group.coherence, floor):
            quiet.add(reason_id)
            events.append(
                Event(
                    "quiet",
                    (reason_id,),
                    f"{group.describe()}: too loose to alert on (coherence {group.coherence:.3f} < {floor:.3f})",
                )
            )
    return [replace(m, alerts=False) if m.reason_id in quiet else m for m in mappings]


def _similarities(found: Sequence[Candidate], known: Sequence[Reason]) -> np.ndarray:
    """Cosine similarities candidates × known reasons."""
    if not (found and known):
        return np.zeros((len(found), len(known)))
    return unit(np.array([c.embedding for c in found])) @ unit(np.array([r.embedding for r in known])).T


def _match(sims: np.ndarray, rows: Sequence[int], threshold: float) -> dict[int, tuple[int, float]]:
    """The one-to-one assignment of the candidates ``rows`` (of ``sims``, candidates × known reasons)
    maximising the total similarity of the pairs at ``threshold`` or above (candidate index -> (known
    index, similarity))."""
    from scipy.optimize import linear_sum_assignment

    if not (len(rows) and sims.shape[1]):
        return {}
    part = sims[list(rows)]
    # below the threshold a pair is worth 0: it cannot count
    picked, cols = linear_sum_assignment(-np.where(part >= threshold, part, 0.0))
    return {rows[i]: (int(j), float(part[i, j])) for i, j in zip(picked, cols) if part[i, j] >= threshold}


def _matched(
    by_id: dict[str, Reason],
    events: list[Event],
    candidate: Candidate,
    old: Reason,
    sim: float,
    week: str,
    params: RegistryParams,
) -> list[ReasonMapping]:
    """The reason keeps its id; its embedding moves towards the candidate's, its label follows it."""
    m = params.embedding_momentum
    new_emb = unit(m * np.asarray(old.embedding) + (1 - m) * unit(np.asarray(candidate.embedding)))
    by_id[old.reason_id] = replace(
        old,
        label=candidate.label,
        embedding=tuple(float(v) for v in new_emb),
        last_seen_week=week,
        status=ALIVE,
        size=candidate.size,
    )
    revived = " (revived: was dead)" if old.status == DEAD else ""
    events.append(Event("matched", (old.reason_id,), f"{candidate.describe()} matched at cosine {sim:.3f}{revived}"))
    return [ReasonMapping(t, old.reason_id, sim, "matched") for t in candidate.topic_ids]


def _seeded(
    by_id: dict[str, Reason],
    events: list[Event],
    members: Sequence[Candidate],
    seed: Seed,
    sims: Sequence[float],
    week: str,
    params: RegistryParams,
) -> list[ReasonMapping]:
    """``members`` (the candidates at ``seed_threshold`` or more to ``seed``) become the seed's reason: born
    under its reserved id the first week, matched (revived when dead) after; labelled with the seed's name."""
    ordered = sorted(members, key=lambda c: (-c.size, min(c.topic_ids)))
    group = candidate_of([t for c in ordered for t in c.topics])
    topics_emb = unit(np.asarray(group.embedding, dtype=np.float64))
    old = by_id.get(seed.reason_id)
    what = f"{group.describe()} at cosine {max(sims):.3f} to seed '{seed.name}'"
    if old is None:
        emb, event = topics_emb, "born"
        by_id[seed.reason_id] = Reason(seed.reason_id, seed.name, (), week, week, ALIVE, group.size)
        events.append(Event("born", (seed.reason_id,), what))
    else:
        m = params.embedding_momentum
        emb, event = unit(m * np.asarray(old.embedding) + (1 - m) * topics_emb), "matched"
        revived = " (revived: was dead)" if old.status == DEAD else ""
        events.append(Event("matched", (seed.reason_id,), what + revived))
    by_id[seed.reason_id] = replace(
        by_id[seed.reason_id],
        label=seed.name,
        embedding=tuple(float(v) for v in emb),
        last_seen_week=week,
        status=ALIVE,
        size=group.size,
    )
    return [
        ReasonMapping(t, seed.reason_id, 1.0 if event == "born" else sim, event)
        for c, sim in zip(members, sims)
        for t in c.topic_ids
    ]


def _next_id(reasons: Sequence[Reason]) -> str:
    """The id after the registry's highest ``R<number>``."""
    numbers = [int(r.reason_id[1:]) for r in reasons if r.reason_id[:1] == "R" and r.reason_id[1:].isdigit()]
    return f"R{(max(numbers, default=0) + 1):04d}"


def _born(
    by_id: dict[str, Reason],
    events: list[Event],
    candidate: Candidate,
    week: str,
    sims: np.ndarray,
    known: Sequence[Reason],
    matched_known: set[int],
    params: RegistryParams,
) -> list[ReasonMapping]:
    """A new reason; a split is recorded when it is also close to a reason another candidate kept."""
    rid = _next_id(list(by_id.values()))
    emb = tuple(float(v) for v in unit(np.asarray(candidate.embedding, dtype=np.float64)))
    by_id[rid] = Reason(rid, candidate.label, emb, week, week, ALIVE, candidate.size)
    best = f"; best existing match {float(sims.max()):.3f}" if known else ""
    events.append(Event("born", (rid,), f"{candidate.describe()}{best}"))
    for j in np.flatnonzero(sims >= params.match_threshold) if known else ():
        if int(j) in matched_known:  # one old reason, now two candidates (the other kept the old id)
            events.append(
                Event(
                    "split",
                    (known[j].reason_id, rid),
                    f"{known[j].reason_id} split: {candidate.describe()} is also at cosine "
                    f"{float(sims[j]):.3f} to it; born as {rid}",
                )
            )
    return [ReasonMapping(t, rid, 1.0, "born") for t in candidate.topic_ids]


def _merge_unmatched(
    by_id: dict[str, Reason],
    events: list[Event],
    found: Sequence[Candidate],
    known: Sequence[Reason],
    sims: np.ndarray,
    went_to: dict[int, str],
    matched_known: set[int],
    threshold: float,
) -> None:
    """Two old reasons, now one candidate: the unmatched live one merges into the reason the candidate went
    to (a matched one, or a seed's: an older reason of a seed's issue merges into the seed's reason)."""
    for j, old_reason in enumerate(known):
        if j in matched_known or old_reason.status != ALIVE:
            continue
        for i, into in sorted(went_to.items()):
            if sims[i, j] >= threshold:
                by_id[old_reason.reason_id] = replace(by_id[old_reason.reason_id], status=MERGED)
                events.append(
                    Event(
                        "merged",
                        (old_reason.reason_id, into),
                        f"{old_reason.reason_id} merged into {into}: {found[i].describe()} is at cosine "
                        f"{float(sims[i, j]):.3f} to both",
                    )
                )
                break


def _bury(by_id: dict[str, Reason], events: list[Event], week: str, death_after_weeks: int) -> None:
    """A live reason unseen for ``death_after_weeks`` weeks dies."""
    for rid, reason in list(by_id.items()):
        if reason.status == ALIVE and weeks_between(reason.last_seen_week, week) >= death_after_weeks:
            by_id[rid] = replace(reason, status=DEAD)
            events.append(Event("died", (rid,), f"unseen since {reason.last_seen_week} ({death_after_weeks}+ weeks)"))
