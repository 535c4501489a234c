"""The reason registry: stable reason ids across weekly refits. No Dagster.

Topic ids change on every refit; reasons must not. Each week the registry, as it stood after the week
before, takes the week's topics in two steps:

- :mod:`reasons.registry.candidates` — the topics grouped into reason candidates; loose groups split back,
  catch-alls and "a little of everything" refused (pure);
- :mod:`reasons.registry.matching` — the candidates matched to the known reasons: matched, born, split,
  merged, died, quiet (pure).

:mod:`reasons.registry.model` holds the data both work on, :mod:`reasons.registry.label_overrides` reads
the analyst's labels from ``reasons/reason_labels.yaml``, :mod:`reasons.registry.seeds` the team's known reasons
from ``<home>/reasons.yaml`` (matched first). The registry's snapshots are stored in
``ml.reasons`` by :mod:`reasons.weekly.reason_ids`.

This package re-exports the names the rest of the project imports from ``reasons.registry``.
"""

from reasons.registry.candidates import fit_space_coherence, group_threshold, group_topics, reason_candidates
from reasons.registry.label_overrides import LABELS_FILE, apply_labels, load_label_overrides
from reasons.registry.matching import update, weeks_between
from reasons.registry.model import (
    ALIVE,
    DEAD,
    MERGED,
    NOT_A_REASON_ID,
    OUTLIER_REASON_ID,
    Candidate,
    Event,
    Reason,
    ReasonMapping,
    RegistryParams,
    RegistryUpdate,
    Seed,
    TopicIn,
)
from reasons.registry.seeds import SEEDS_FILE, SeedsError, load_seeds, seed_reason_id

__all__ = [
    "ALIVE",
    "DEAD",
    "LABELS_FILE",
    "MERGED",
    "NOT_A_REASON_ID",
    "OUTLIER_REASON_ID",
    "SEEDS_FILE",
    "Candidate",
    "Event",
    "Reason",
    "ReasonMapping",
    "RegistryParams",
    "RegistryUpdate",
    "Seed",
    "SeedsError",
    "TopicIn",
    "apply_labels",
    "fit_space_coherence",
    "group_threshold",
    "group_topics",
    "load_label_overrides",
    "load_seeds",
    "reason_candidates",
    "seed_reason_id",
    "update",
    "weeks_between",
]
