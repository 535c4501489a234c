"""The reason registry: stable reason ids across weekly refits. Pure, no Dagster.

Topic ids change on every refit; reasons must not. Two steps a week:

0. **grouped** — topics are finer than reasons (the fit is tuned for Banking77's 77 close intents; one
   customer issue often comes out as a few sub-topics, e.g. per platform wording). Topics whose
   centroids are close form one reason candidate, its embedding the size-weighted mean of theirs, its
   label the largest topic's. "Close" adapts to the domain: in one domain every centroid is near every
   other, so the threshold is the week's own mean pairwise centroid cosine plus ``group_sd`` standard
   deviations (never below ``group_floor``). A group of several topics must hold together about as well
   as a topic does: less coherent than ``min_group_coherence_ratio`` × the week's median topic coherence,
   it is split back into its topics; so is, when ``min_group_fit_coherence_ratio`` is set, one less
   coherent than that × the median measured exactly in the fit's own space (:func:`fit_space_coherence`).
   A topic whose messages sit far from its centre (coherence below
   ``min_coherence_ratio`` × that median) is a catch-all and refused (``not_a_reason``, event
   ``refused``); so is one whose messages sit no closer to their centre than the week's messages to theirs
   (raw embeddings, under ``min_week_relative_coherence`` × the week's: a little of everything, the
   "everything else" of a week, which ranks high when the week's true issues spread over several reasons;
   a group of topics is split back into its topics first). A candidate whose messages are mostly not
   dissatisfied (share < ``min_dissatisfied_share``: praise, plain questions) is no reason to be unhappy:
   its topics map to ``not_a_reason`` and never enter the registry.

Then the candidates are matched to the known reasons by cosine similarity of their embeddings:

1. **matched** — a one-to-one assignment (Hungarian, ``scipy.optimize.linear_sum_assignment``)
   maximising the total similarity of the pairs at ``match_threshold`` or above (no others count). The reason
   keeps its id; its embedding moves towards the topic's (``embedding_momentum``) and its label
   follows the topic's (unless an analyst override names it, see :func:`load_label_overrides`).
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

Dead reasons can still be matched (the issue came back: event ``matched``, detail ``revived``);
merged ones cannot. The state after each week is a full snapshot (``ml.reasons`` rows of that week),
so replaying a week starts from the snapshot of the week before and gives the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lake.weeks import parse_week, shift_week, week_start
from reasons.topics.params import coherence_floor

ALIVE, DEAD, MERGED = "alive", "dead", "merged"
OUTLIER_REASON_ID = "outliers"  # the outlier topic (-1) of every week: never a reason, never elected
# topics that are no reason to be unhappy: mostly satisfied (praise, questions), catch-alls and a little of
# everything (the registry's ``refused`` events); never elected
NOT_A_REASON_ID = "not_a_reason"


@dataclass(frozen=True)
class RegistryParams:
    match_threshold: float = 0.80  # cosine of candidate embedding to reason embedding for "same reason"
    # average-linkage cosine of topic centroids for "one reason candidate": the week's mean pairwise cosine
    # + group_sd × its standard deviation, at least group_floor; group_threshold fixes it instead
    group_threshold: float | None = None
    group_sd: float = 1.0
    group_floor: float = 0.68
    # a group less coherent than this × the week's median topic is a catch-all (split, or refused when alone);
    # chosen among 0.5, 0.7, 0.85, 0.9, 0.95: the most precise on CFPB that keeps the synthetic reason ids
    # stable (at 0.85 one reason in seven is refused in one sample only; bench/RESULTS.md)
    min_coherence_ratio: float = 0.7
    # a group of topics less coherent than this × the week's median topic is split back into its topics (each
    # then judged on its own): grouping joins sub-topics of one issue, not loose neighbours. None: only
    # ``min_coherence_ratio`` splits. Chosen on CFPB (bench/RESULTS.md, "Loose groups split back"); 0.9 split
    # the synthetic weeks' sub-topics of one issue apart (top-3 right in 6 of 8 weeks, not 7)
    min_group_coherence_ratio: float | None = 0.8
    # ... and so, when set, is a group whose messages sit, in the fit's own (centred) space, less close to
    # the group's centre than this × that median (:func:`fit_space_coherence`): a catch-all of topics pointing
    # many ways, which the estimate above cannot see (raw centroids all share the domain's direction). Off by
    # default: with UMAP's earlier spectral start, 0.5-0.6 split a 19-22-topic catch-all of airline tweets
    # (precision up, a hollow top-3 hit lost), changed little on CFPB and made the synthetic stability test
    # fail on some fits; with the PCA start no airline group falls under 0.5 (bench/RESULTS.md "Airline tweets")
    min_group_fit_coherence_ratio: float | None = None
    # a reason whose topics this week are less coherent than this × the week's median topic is counted and
    # elected but does not alert: a message near it could be any of its mixed complaints (None: all alert;
    # chosen on CFPB, bench/RESULTS.md "Loose reasons do not alert")
    min_alert_coherence_ratio: float | None = 0.8
    # a reason sits tighter than the week as a whole: a candidate whose messages are no closer to their raw
    # centre than this × the week's messages to theirs (``TopicIn.relative_coherence``) is a little of
    # everything and refused (a group of topics is first split back into its topics); one holding half the
    # week's topic messages or more is not judged (it is most of the week). None: off. Chosen on CFPB
    # (bench/RESULTS.md "A reason sits tighter than the week"): the "everything else" reasons elected sat at
    # 0.95-1.03, every other elected reason at 1.10 or more
    min_week_relative_coherence: float | None = 1.05
    min_dissatisfied_share: float = 0.25  # of a candidate's messages, for it to be a reason at all
    death_after_weeks: int = 4  # a live reason unseen this many weeks dies
    embedding_momentum: float = 0.5  # new embedding = normalize(m * old + (1 - m) * topic's)


@dataclass(frozen=True)
class Reason:
    reason_id: str
    label: str
    embedding: tuple[float, ...]
    born_week: str
    last_seen_week: str
    status: str = ALIVE
    size: int = 0  # messages of the last week it was seen


@dataclass(frozen=True)
class TopicIn:
    """A topic of the week's model, as the registry needs it."""

    topic_id: int
    label: str
    embedding: Sequence[float]
    size: int = 0
    dissatisfied_share: float | None = None  # of its messages; None: unknown (counts as a reason)
    coherence: float | None = None  # mean cosine of its messages to its centroid; None: unknown
    # its unit centroid in the space ``coherence`` was measured in (the fit's, centred); None: unknown
    fit_embedding: Sequence[float] | None = None
    # how much closer its messages sit to their raw centre than the week's (``week_relative``); None: unknown
    relative_coherence: float | None = None


@dataclass(frozen=True)
class Candidate:
    """One reason candidate of the week: a group of close topics."""

    topics: tuple[TopicIn, ...]  # largest first
    embedding: tuple[float, ...]
    dissatisfied_share: float | None
    coherence: float | None = None  # mean cosine of its messages to its embedding (estimated from the topics')
    relative_coherence: float | None = None  # its messages' raw coherence over the week's (exact)
    refusal: str | None = None  # why the week's bars refused it (a refused candidate only)

    @property
    def label(self) -> str:
        return self.topics[0].label

    @property
    def size(self) -> int:
        return sum(t.size for t in self.topics)

    @property
    def topic_ids(self) -> tuple[int, ...]:
        return tuple(t.topic_id for t in self.topics)

    def describe(self) -> str:
        ids = "+".join(str(t) for t in self.topic_ids)
        return f"topic{'s' if len(self.topics) > 1 else ''} {ids} '{self.label}'"


@dataclass(frozen=True)
class Mapping_:
    topic_id: int
    reason_id: str
    similarity: float  # topic's candidate to the reason's embedding before the update (1.0 for a birth)
    event: str  # "matched", "born" or "not_a_reason"
    alerts: bool = True  # False: its reason is too loose this week to alert on (``min_alert_coherence_ratio``)


@dataclass(frozen=True)
class Event:
    event: str  # born | matched | died | merged | split | refused | quiet
    reason_ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class RegistryUpdate:
    week: str
    reasons: tuple[Reason, ...]  # the whole registry after the week
    mappings: tuple[Mapping_, ...]  # one per topic of the week
    events: tuple[Event, ...]

    def reason_of(self) -> dict[int, str]:
        return {m.topic_id: m.reason_id for m in self.mappings}

    def by_id(self) -> dict[str, Reason]:
        return {r.reason_id: r for r in self.reasons}

    def count(self, event: str) -> int:
        return sum(1 for e in self.events if e.event == event)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        n = np.linalg.norm(x)
        return x / n if n else x
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n == 0, 1.0, n)


def _next_id(reasons: Sequence[Reason], k: int) -> str:
    numbers = [int(r.reason_id[1:]) for r in reasons if r.reason_id[:1] == "R" and r.reason_id[1:].isdigit()]
    return f"R{(max(numbers, default=0) + k):04d}"


def weeks_between(earlier: str, later: str) -> int:
    return (week_start(later) - week_start(earlier)).days // 7


def group_threshold(topics: Sequence[TopicIn], params: RegistryParams) -> float:
    """The cosine at which the week's topic centroids group: fixed, or adapted to the week's spread."""
    if params.group_threshold is not None:
        return params.group_threshold
    if len(topics) < 3:
        return params.group_floor
    emb = _unit(np.array([t.embedding for t in topics]))
    pairs = (emb @ emb.T)[np.triu_indices(len(topics), k=1)]
    return float(max(params.group_floor, pairs.mean() + params.group_sd * pairs.std()))


def group_topics(topics: Sequence[TopicIn], threshold: float) -> list[Candidate]:
    """The week's topics as reason candidates: average-linkage groups of centroid cosine ≥ ``threshold``,
    ordered by their smallest topic id (deterministic)."""
    topics = sorted(topics, key=lambda t: t.topic_id)
    if not topics:
        return []
    emb = _unit(np.array([t.embedding for t in topics]))
    if len(topics) == 1:
        labels = np.array([1])
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        distance = np.clip(1.0 - emb @ emb.T, 0.0, 2.0)
        condensed = distance[np.triu_indices(len(topics), k=1)]
        labels = fcluster(linkage(condensed, method="average"), t=1.0 - threshold, criterion="distance")
    out = []
    for group in dict.fromkeys(labels):  # first-seen order = smallest topic id first
        members = sorted((topics[i] for i in np.flatnonzero(labels == group)), key=lambda t: (-t.size, t.topic_id))
        out.append(_candidate(members))
    return out


def _candidate(members: Sequence[TopicIn]) -> Candidate:
    """One candidate of ``members`` (largest first): size-weighted embedding, share and coherence."""
    sizes = np.array([max(t.size, 1) for t in members], dtype=np.float64)
    emb = _unit(np.array([t.embedding for t in members]))
    vec = _unit((emb * sizes[:, None]).sum(axis=0))
    share = _weighted([t.dissatisfied_share for t in members], sizes)
    coherences = [t.coherence for t in members]
    # a member topic's messages sit at about its coherence × its centroid's cosine to the group's
    coherence = None if None in coherences else _weighted(list(np.asarray(coherences) * (emb @ vec)), sizes)
    return Candidate(tuple(members), tuple(float(v) for v in vec), share, coherence, _relative_coherence(members))


def _relative_coherence(members: Sequence[TopicIn]) -> float | None:
    """A group's raw coherence over the week's, exactly (the week's coherence divides every term alike)."""
    return _group_coherence(members, [t.embedding for t in members], [t.relative_coherence for t in members])


def fit_space_coherence(members: Sequence[TopicIn]) -> float | None:
    """The mean cosine of a group's messages to the group's centre in the fit's space (exact)."""
    return _group_coherence(members, [t.fit_embedding for t in members], [t.coherence for t in members])


def _group_coherence(
    members: Sequence[TopicIn], centroids: Sequence[Sequence[float] | None], coherences: Sequence[float | None]
) -> float | None:
    """The mean cosine of a group's messages to the group's centre, from its topics' ``centroids`` and
    ``coherences`` in one space: a topic's unit messages average to its coherence × its unit centroid, so the
    group's is the length of the size-weighted mean of those (None when a member lacks either)."""
    if any(c is None for c in centroids) or any(c is None for c in coherences):
        return None
    sizes = np.array([max(t.size, 1) for t in members], dtype=np.float64)
    unit = _unit(np.array(centroids, dtype=np.float64))
    weighted = unit * (np.array(coherences, dtype=np.float64) * sizes)[:, None]
    return float(np.linalg.norm(weighted.sum(axis=0)) / sizes.sum())


def _weighted(values: Sequence[float | None], weights: np.ndarray) -> float | None:
    """The ``weights``-weighted mean of ``values``; None when any is unknown."""
    if any(v is None for v in values):
        return None
    return float(np.dot(np.asarray(values, dtype=np.float64), weights) / weights.sum())


def reason_candidates(
    topics: Sequence[TopicIn], params: RegistryParams = RegistryParams()
) -> tuple[list[Candidate], list[Candidate], float]:
    """The week's candidates and the candidates it refused (each with its ``refusal``), and the grouping
    threshold used.

    A grouped candidate less coherent than ``min_group_coherence_ratio`` (or ``min_coherence_ratio``, the
    higher) × the median topic coherence is split back into its topics, as is one whose
    :func:`fit_space_coherence` is under ``min_group_fit_coherence_ratio`` × that median (when set) and one
    no tighter than the week (:func:`_refusal`); a topic under ``min_coherence_ratio`` × that median, or no
    tighter than the week, is refused."""
    topics = [t for t in topics if t.topic_id >= 0]
    threshold = group_threshold(topics, params)
    floor = _week_floor(topics, params.min_coherence_ratio)
    group_floor = _week_floor(topics, max(params.min_coherence_ratio, params.min_group_coherence_ratio or 0.0))
    fit_floor = _week_floor(topics, params.min_group_fit_coherence_ratio)
    week_size = sum(t.size for t in topics)
    kept: list[Candidate] = []
    refused: list[Candidate] = []
    for candidate in group_topics(topics, threshold):
        loose = (
            _below(candidate.coherence, group_floor)
            or (fit_floor is not None and _below(fit_space_coherence(candidate.topics), fit_floor))
            or _little_of_everything(candidate, week_size, params)
        )
        pieces = [_candidate([t]) for t in candidate.topics] if loose and len(candidate.topics) > 1 else [candidate]
        for piece in pieces:
            why = _refusal(piece, floor, week_size, params)
            if why is None:
                kept.append(piece)
            else:
                refused.append(replace(piece, refusal=why))
    kept.sort(key=lambda c: min(c.topic_ids))
    return kept, refused, threshold


def _refusal(candidate: Candidate, floor: float | None, week_size: int, params: RegistryParams) -> str | None:
    """Why ``candidate`` is no reason (None: it may be one): a catch-all, less coherent than the week's
    ``floor``; or a little of everything (:func:`_little_of_everything`)."""
    if _below(candidate.coherence, floor):
        return f"a catch-all (coherence {candidate.coherence:.3f} < {floor:.3f})"
    if _little_of_everything(candidate, week_size, params):
        bar = params.min_week_relative_coherence
        return f"a little of everything ({candidate.relative_coherence:.2f} × the week's coherence < {bar})"
    return None


def _little_of_everything(candidate: Candidate, week_size: int, params: RegistryParams) -> bool:
    """Whether ``candidate``'s messages sit no closer to their centre than ``min_week_relative_coherence`` ×
    the week's; a candidate of half the week's ``week_size`` messages or more is most of the week, never."""
    return 2 * candidate.size < week_size and _below(candidate.relative_coherence, params.min_week_relative_coherence)


def update(
    reasons: Sequence[Reason], topics: Sequence[TopicIn], week: str, params: RegistryParams = RegistryParams()
) -> RegistryUpdate:
    """Match ``week``'s topics against the registry ``reasons`` (the state after the week before)."""
    parse_week(week)
    groups, refused, _ = reason_candidates(topics, params)
    not_reasons = [
        g for g in groups if g.dissatisfied_share is not None and g.dissatisfied_share < params.min_dissatisfied_share
    ]
    found = [g for g in groups if g not in not_reasons]  # the week's reason candidates
    known = [r for r in reasons if r.status != MERGED]  # the registry's matchable reasons
    sims, matched = _match(found, known, params.match_threshold)
    by_id = {r.reason_id: r for r in reasons}
    events: list[Event] = []
    mappings: list[Mapping_] = []
    for i, candidate in enumerate(found):
        if i in matched:
            j, sim = matched[i]
            mappings += _matched(by_id, events, candidate, known[j], sim, week, params)
        else:
            mappings += _born(by_id, events, candidate, week, sims[i], known, {j for j, _ in matched.values()}, params)
    for group in not_reasons + refused:
        mappings.extend(Mapping_(t, NOT_A_REASON_ID, 0.0, NOT_A_REASON_ID) for t in group.topic_ids)
    for group in refused:
        events.append(Event("refused", (), f"{group.describe()}: {group.refusal}"))
    mappings = _quieten_loose(mappings, topics, params, events)
    mappings.sort(key=lambda m: m.topic_id)
    _merge_unmatched(by_id, events, found, known, sims, matched, params.match_threshold)
    _bury(by_id, events, week, params.death_after_weeks)
    ordered = tuple(sorted(by_id.values(), key=lambda r: r.reason_id))
    return RegistryUpdate(week=week, reasons=ordered, mappings=tuple(mappings), events=tuple(events))


def _below(coherence: float | None, floor: float | None) -> bool:
    """Whether a known coherence falls under a set floor (an unknown one, or no floor, never does)."""
    return coherence is not None and floor is not None and coherence < floor


def _week_floor(topics: Sequence[TopicIn], ratio: float | None) -> float | None:
    """``ratio`` × the median coherence of the week's topics (None: no ratio, or no coherence known)."""
    known = [t.coherence for t in topics if t.topic_id >= 0 and t.coherence is not None]
    return None if ratio is None else coherence_floor(known, ratio)


def _quieten_loose(
    mappings: list[Mapping_], topics: Sequence[TopicIn], params: RegistryParams, events: list[Event]
) -> list[Mapping_]:
    """``mappings`` with ``alerts`` off for the reasons whose topics of the week, taken as one group, are less
    coherent than ``min_alert_coherence_ratio`` × the week's median topic coherence (event ``quiet``)."""
    floor = _week_floor(topics, params.min_alert_coherence_ratio)
    if floor is None:
        return mappings
    by_topic = {t.topic_id: t for t in topics}
    quiet: set[str] = set()
    for reason_id in dict.fromkeys(m.reason_id for m in mappings if m.reason_id != NOT_A_REASON_ID):
        members = sorted(
            (by_topic[m.topic_id] for m in mappings if m.reason_id == reason_id), key=lambda t: (-t.size, t.topic_id)
        )
        group = _candidate(members)
        if _below(group.coherence, floor):
            quiet.add(reason_id)
            events.append(
                Event(
                    "quiet",
                    (reason_id,),
                    f"{group.describe()}: too loose to alert on (coherence {group.coherence:.3f} < {floor:.3f})",
                )
            )
    return [replace(m, alerts=False) if m.reason_id in quiet else m for m in mappings]


def _match(
    found: Sequence[Candidate], known: Sequence[Reason], threshold: float
) -> tuple[np.ndarray, dict[int, tuple[int, float]]]:
    """Cosine similarities candidates × known reasons, and the one-to-one assignment maximising the total
    similarity of the pairs at ``threshold`` or above (candidate index -> (known index, similarity))."""
    from scipy.optimize import linear_sum_assignment

    sims = np.zeros((len(found), len(known)))
    if not (found and known):
        return sims, {}
    sims = _unit(np.array([c.embedding for c in found])) @ _unit(np.array([r.embedding for r in known])).T
    # below the threshold a pair is worth 0: it cannot count
    rows, cols = linear_sum_assignment(-np.where(sims >= threshold, sims, 0.0))
    return sims, {int(i): (int(j), float(sims[i, j])) for i, j in zip(rows, cols) if sims[i, j] >= threshold}


def _matched(
    by_id: dict[str, Reason],
    events: list[Event],
    candidate: Candidate,
    old: Reason,
    sim: float,
    week: str,
    params: RegistryParams,
) -> list[Mapping_]:
    """The reason keeps its id; its embedding moves towards the candidate's, its label follows it."""
    m = params.embedding_momentum
    new_emb = _unit(m * np.asarray(old.embedding) + (1 - m) * _unit(np.asarray(candidate.embedding)))
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
    return [Mapping_(t, old.reason_id, sim, "matched") for t in candidate.topic_ids]


def _born(
    by_id: dict[str, Reason],
    events: list[Event],
    candidate: Candidate,
    week: str,
    sims: np.ndarray,
    known: Sequence[Reason],
    matched_known: set[int],
    params: RegistryParams,
) -> list[Mapping_]:
    """A new reason; a split is recorded when it is also close to a reason another candidate kept."""
    rid = _next_id(list(by_id.values()), 1)
    emb = tuple(float(v) for v in _unit(np.asarray(candidate.embedding, dtype=np.float64)))
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
    return [Mapping_(t, rid, 1.0, "born") for t in candidate.topic_ids]


def _merge_unmatched(
    by_id: dict[str, Reason],
    events: list[Event],
    found: Sequence[Candidate],
    known: Sequence[Reason],
    sims: np.ndarray,
    matched: dict[int, tuple[int, float]],
    threshold: float,
) -> None:
    """Two old reasons, now one candidate: the unmatched live one merges into the matched one."""
    matched_known = {j for j, _ in matched.values()}
    for j, old_reason in enumerate(known):
        if j in matched_known or old_reason.status != ALIVE:
            continue
        for i, (jj, _) in sorted(matched.items()):
            if sims[i, j] >= threshold:
                into = known[jj].reason_id
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


def previous_week(week: str) -> str:
    return shift_week(week, -1)


# ---- analyst label overrides -------------------------------------------------------------------

LABELS_FILE = Path(__file__).with_name("reason_labels.yaml")


def load_label_overrides(path: Path | str | None = None) -> dict[str, str]:
    """``reason_id -> label`` from the analyst's YAML file (a mapping; missing file or empty → ``{}``)."""
    import yaml

    path = Path(path) if path is not None else LABELS_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping reason_id -> label, got {type(data).__name__}")
    return {str(k): str(v) for k, v in data.items() if v is not None and str(v).strip()}


def apply_labels(labels: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """``reason_id -> label`` with the analyst's overrides winning."""
    return {rid: overrides.get(rid, label) for rid, label in labels.items()}


def events_json(events: Sequence[Event]) -> str:
    return json.dumps([{"event": e.event, "reason_ids": list(e.reason_ids), "detail": e.detail} for e in events])
