"""What the reason registry works on: its parameters, reasons, the week's topics and candidates, and the
outcome of a week (mappings, events). Data only; the rules are in :mod:`reasons.registry.candidates`
(grouping and refusals) and :mod:`reasons.registry.matching` (matching, births, splits, merges, deaths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALIVE, DEAD, MERGED = "alive", "dead", "merged"
OUTLIER_REASON_ID = "outliers"  # the outlier topic (-1) of every week: never a reason, never elected
# topics that are no reason to be unhappy: mostly satisfied (praise, questions), catch-alls and a little of
# everything (the registry's ``refused`` events); never elected
NOT_A_REASON_ID = "not_a_reason"


@dataclass(frozen=True)
class Seed:
    """A reason a team already knows (``<home>/reasons.yaml``, :mod:`reasons.registry.seeds`), embedded."""

    reason_id: str  # reserved, derived from the name (:func:`reasons.registry.seeds.seed_reason_id`)
    name: str  # the reason's label, whatever its topics' words
    embedding: tuple[float, ...]  # the unit mean of its examples' (and keywords') embeddings


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
    # stable (at 0.85 one reason in seven is refused in one sample only; docs/history/results-journal.md, section
    # "Reasons on real complaints")
    min_coherence_ratio: float = 0.7
    # a group of topics less coherent than this × the week's median topic is split back into its topics (each
    # then judged on its own): grouping joins sub-topics of one issue, not loose neighbours. None: only
    # ``min_coherence_ratio`` splits. Chosen on CFPB (docs/history/results-journal.md, section "Loose groups split
    # back"); 0.9 split the synthetic weeks' sub-topics of one issue apart (top-3 right in 6 of 8 weeks, not 7)
    min_group_coherence_ratio: float | None = 0.8
    # ... and so, when set, is a group whose messages sit, in the fit's own (centred) space, less close to
    # the group's centre than this × that median (``fit_space_coherence``): a catch-all of topics pointing
    # many ways, which the estimate above cannot see (raw centroids all share the domain's direction). Off by
    # default: with UMAP's earlier spectral start, 0.5-0.6 split a 19-22-topic catch-all of airline tweets
    # (precision up, a hollow top-3 hit lost), changed little on CFPB and made the synthetic stability test
    # fail on some fits; with the PCA start no airline group falls under 0.5 (docs/history/results-journal.md,
    # section "Airline tweets")
    min_group_fit_coherence_ratio: float | None = None
    # a reason whose topics this week are less coherent than this × the week's median topic is counted and
    # elected but does not alert: a message near it could be any of its mixed complaints (None: all alert;
    # chosen on CFPB, docs/history/results-journal.md, section "Loose reasons do not alert")
    min_alert_coherence_ratio: float | None = 0.8
    # a reason sits tighter than the week as a whole: a candidate whose messages are no closer to their raw
    # centre than this × the week's messages to theirs (``TopicIn.relative_coherence``) is a little of
    # everything and refused (a group of topics is first split back into its topics); one holding half the
    # week's topic messages or more is not judged (it is most of the week). None: off. Chosen on CFPB
    # (docs/history/results-journal.md, section "A reason sits tighter than the week"): the "everything else"
    # reasons elected sat at 0.95-1.03, every other elected reason at 1.10 or more
    min_week_relative_coherence: float | None = 1.05
    min_dissatisfied_share: float = 0.25  # of a candidate's messages, for it to be a reason at all
    death_after_weeks: int = 4  # a live reason unseen this many weeks dies
    embedding_momentum: float = 0.5  # new embedding = normalize(m * old + (1 - m) * topic's)
    # the team's known reasons, matched before the registry's own (:mod:`reasons.registry.seeds`); a candidate
    # at cosine ``seed_threshold`` or more to a seed's embedding becomes that seed's reason. The threshold is
    # chosen on the product reviews' development part (docs/seeded_reasons.md, "How the threshold was chosen")
    seeds: tuple[Seed, ...] = ()
    seed_threshold: float = 0.5


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
class ReasonMapping:
    """One topic of the week mapped to its reason (a row of ``ml.reason_mappings``)."""

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
    mappings: tuple[ReasonMapping, ...]  # one per topic of the week
    events: tuple[Event, ...]

    def reason_of(self) -> dict[int, str]:
        return {m.topic_id: m.reason_id for m in self.mappings}

    def by_id(self) -> dict[str, Reason]:
        return {r.reason_id: r for r in self.reasons}

    def count(self, event: str) -> int:
        return sum(1 for e in self.events if e.event == event)
