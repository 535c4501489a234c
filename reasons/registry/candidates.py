"""Step 0 of the registry's week: the week's topics grouped into reason candidates, loose or catch-all
ones split back or refused. Pure computation (numpy, scipy), no I/O.

Topics are finer than reasons (the fit is tuned for Banking77's 77 close intents; one customer issue often
comes out as a few sub-topics, e.g. per platform wording). Topics whose centroids are close form one reason
candidate, its embedding the size-weighted mean of theirs, its label the largest topic's. "Close" adapts to
the domain: in one domain every centroid is near every other, so the threshold is the week's own mean
pairwise centroid cosine plus ``group_sd`` standard deviations (never below ``group_floor``). A group of
several topics must hold together about as well as a topic does: less coherent than
``min_group_coherence_ratio`` × the week's median topic coherence, it is split back into its topics; so is,
when ``min_group_fit_coherence_ratio`` is set, one less coherent than that × the median measured exactly in
the fit's own space (:func:`fit_space_coherence`). A topic whose messages sit far from its centre (coherence
below ``min_coherence_ratio`` × that median) is a catch-all and refused (``not_a_reason``, event
``refused``); so is one whose messages sit no closer to their centre than the week's messages to theirs
(raw embeddings, under ``min_week_relative_coherence`` × the week's: a little of everything, the "everything
else" of a week, which ranks high when the week's true issues spread over several reasons; a group of
topics is split back into its topics first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from reasons.registry.model import Candidate, RegistryParams, TopicIn
from reasons.topics.params import coherence_floor


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` (a vector, or rows) scaled to unit length; zero stays zero."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        n = np.linalg.norm(x)
        return x / n if n else x
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n == 0, 1.0, n)


def group_threshold(topics: Sequence[TopicIn], params: RegistryParams) -> float:
    """The cosine at which the week's topic centroids group: fixed, or adapted to the week's spread."""
    if params.group_threshold is not None:
        return params.group_threshold
    if len(topics) < 3:
        return params.group_floor
    emb = unit(np.array([t.embedding for t in topics]))
    pairs = (emb @ emb.T)[np.triu_indices(len(topics), k=1)]
    return float(max(params.group_floor, pairs.mean() + params.group_sd * pairs.std()))


def group_topics(topics: Sequence[TopicIn], threshold: float) -> list[Candidate]:
    """The week's topics as reason candidates: average-linkage groups of centroid cosine ≥ ``threshold``,
    ordered by their smallest topic id (deterministic)."""
    topics = sorted(topics, key=lambda t: t.topic_id)
    if not topics:
        return []
    emb = unit(np.array([t.embedding for t in topics]))
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
        out.append(candidate_of(members))
    return out


def candidate_of(members: Sequence[TopicIn]) -> Candidate:
    """One candidate of ``members`` (largest first): size-weighted embedding, share and coherence."""
    sizes = np.array([max(t.size, 1) for t in members], dtype=np.float64)
    emb = unit(np.array([t.embedding for t in members]))
    vec = unit((emb * sizes[:, None]).sum(axis=0))
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
    unit_centroids = unit(np.array(centroids, dtype=np.float64))
    weighted = unit_centroids * (np.array(coherences, dtype=np.float64) * sizes)[:, None]
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
    floor = week_floor(topics, params.min_coherence_ratio)
    group_floor = week_floor(topics, max(params.min_coherence_ratio, params.min_group_coherence_ratio or 0.0))
    fit_floor = week_floor(topics, params.min_group_fit_coherence_ratio)
    week_size = sum(t.size for t in topics)
    kept: list[Candidate] = []
    refused: list[Candidate] = []
    for candidate in group_topics(topics, threshold):
        loose = (
            below(candidate.coherence, group_floor)
            or (fit_floor is not None and below(fit_space_coherence(candidate.topics), fit_floor))
            or _little_of_everything(candidate, week_size, params)
        )
        pieces = [candidate_of([t]) for t in candidate.topics] if loose and len(candidate.topics) > 1 else [candidate]
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
    if below(candidate.coherence, floor):
        return f"a catch-all (coherence {candidate.coherence:.3f} < {floor:.3f})"
    if _little_of_everything(candidate, week_size, params):
        bar = params.min_week_relative_coherence
        return f"a little of everything ({candidate.relative_coherence:.2f} × the week's coherence < {bar})"
    return None


def _little_of_everything(candidate: Candidate, week_size: int, params: RegistryParams) -> bool:
    """Whether ``candidate``'s messages sit no closer to their centre than ``min_week_relative_coherence`` ×
    the week's; a candidate of half the week's ``week_size`` messages or more is most of the week, never."""
    return 2 * candidate.size < week_size and below(candidate.relative_coherence, params.min_week_relative_coherence)


def below(coherence: float | None, floor: float | None) -> bool:
    """Whether a known coherence falls under a set floor (an unknown one, or no floor, never does)."""
    return coherence is not None and floor is not None and coherence < floor


def week_floor(topics: Sequence[TopicIn], ratio: float | None) -> float | None:
    """``ratio`` × the median coherence of the week's topics (None: no ratio, or no coherence known)."""
    known = [t.coherence for t in topics if t.topic_id >= 0 and t.coherence is not None]
    return None if ratio is None else coherence_floor(known, ratio)
