"""Seeded reasons: the reasons a team already knows, read from ``<home>/reasons.yaml`` and matched before the
registry's own (the format: docs/seeded_reasons.md).

Each seed has a ``name`` (its reason's label), a few ``examples`` (phrases customers write about it) and
optional ``keywords`` (each one more short phrase). Its embedding is the unit mean of those phrases'
embeddings, by the model the week's topics were embedded with. As BERTopic's zero-shot topics do, a week's
reason candidate whose embedding (its topics' raw centroid) lies at cosine ``RegistryParams.seed_threshold``
or more to a seed's becomes that seed's reason (the nearest seed, when several pass); several candidates may
become one seed's reason. The rest are matched to the registry's reasons, or born, as without seeds
(:mod:`reasons.registry.matching`).

A seed's reason id is reserved and derived from its name (:func:`seed_reason_id`: ``S-damaged-packaging``),
so it is the same every week, in every home, and whether or not the registry's history is kept; renaming a
seed gives a new id (the old one is then an ordinary reason, matched by its embedding, and dies unseen).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lake.settings import SettingsError
from reasons.registry.candidates import unit
from reasons.registry.model import Candidate, RegistryParams, Seed

SEEDS_FILE = "reasons.yaml"  # in the home: ``settings.home / SEEDS_FILE``
SEED_ID_PREFIX = "S-"
_KEYS = {"name", "examples", "keywords"}


class SeedsError(SettingsError):
    """The seeds file is unreadable or an entry is invalid; one line naming the file, the entry and what is
    wrong (a configuration error: exit 3)."""


@dataclass(frozen=True)
class SeedSpec:
    """One entry of the seeds file, validated, not yet embedded."""

    name: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.examples + self.keywords


def seed_reason_id(name: str) -> str:
    """The reserved reason id of the seed ``name``: ``S-`` and its words, lower case, joined by ``-``."""
    words = re.findall(r"[0-9a-z]+", name.lower())
    return SEED_ID_PREFIX + "-".join(words)


def read_seeds(path: Path | str) -> tuple[SeedSpec, ...]:
    """The entries of a seeds file (a missing file: none), validated: :class:`SeedsError` otherwise."""
    import yaml

    path = Path(path)
    if not path.exists():
        return ()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SeedsError(f"{path}: cannot read the seeded reasons ({' '.join(str(exc).split())})") from None
    if data is None:
        return ()
    if not isinstance(data, dict) or set(data) != {"reasons"} or not isinstance(data["reasons"], list):
        raise SeedsError(f"{path}: expected one key, reasons: a list of {{name, examples, keywords}}")
    specs = tuple(_spec(path, i, entry) for i, entry in enumerate(data["reasons"]))
    seen: dict[str, str] = {}
    for spec in specs:
        rid = seed_reason_id(spec.name)
        if rid in seen:
            raise SeedsError(f"{path}: reasons '{seen[rid]}' and '{spec.name}' have one reason id {rid}: rename one")
        seen[rid] = spec.name
    return specs


def _spec(path: Path, index: int, entry: object) -> SeedSpec:
    where = f"{path}: reasons[{index}]"
    if not isinstance(entry, dict):
        raise SeedsError(f"{where}: expected a mapping with name, examples and optionally keywords")
    name = entry.get("name")
    if not isinstance(name, str) or not seed_reason_id(name)[len(SEED_ID_PREFIX) :]:
        raise SeedsError(f"{where}: name must be a text with a letter or digit, got {name!r}")
    where = f"{where} ('{name}')"
    unknown = set(entry) - _KEYS
    if unknown:
        raise SeedsError(f"{where}: unknown keys {sorted(unknown)} (expected {sorted(_KEYS)})")
    examples = _phrases(where, "examples", entry.get("examples"))
    if not examples:
        raise SeedsError(f"{where}: examples must list at least one phrase")
    keywords = _phrases(where, "keywords", entry.get("keywords", []))
    return SeedSpec(name.strip(), examples, keywords)


def _phrases(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SeedsError(f"{where}: {key} must be a list of non-empty phrases, got {value!r}")
    return tuple(v.strip() for v in value)


def embed_seeds(specs: Sequence[SeedSpec], embed: Callable[[list[str]], np.ndarray]) -> tuple[Seed, ...]:
    """``specs`` embedded: each seed's embedding is the unit mean of its phrases' (one call of ``embed``)."""
    phrases = [p for spec in specs for p in spec.phrases]
    if not phrases:
        return ()
    vectors = unit(np.asarray(embed(phrases), dtype=np.float64))
    out, start = [], 0
    for spec in specs:
        mean = unit(vectors[start : start + len(spec.phrases)].mean(axis=0))
        out.append(Seed(seed_reason_id(spec.name), spec.name, tuple(float(v) for v in mean)))
        start += len(spec.phrases)
    return tuple(out)


def load_seeds(path: Path | str, embed: Callable[[list[str]], np.ndarray]) -> tuple[Seed, ...]:
    """The seeds of the file at ``path`` (none when it is missing), embedded by ``embed``."""
    return embed_seeds(read_seeds(path), embed)


def with_home_seeds(params: RegistryParams, home: Path, embedding_model: str) -> RegistryParams:
    """``params`` with the seeds of ``home / reasons.yaml`` embedded by ``embedding_model`` (the model of the
    week's topics); ``params`` as they are when they carry seeds already or the home has no seeds file."""
    from dataclasses import replace

    specs = () if params.seeds else read_seeds(Path(home) / SEEDS_FILE)
    if not specs:
        return params
    from reasons.embedding.backends import backend_of, load_embedder
    from reasons.embedding.vectors import embed

    embedder = load_embedder(backend_of(embedding_model))
    return replace(params, seeds=embed_seeds(specs, lambda texts: embed(embedder, texts)))


def seed_matches(found: Sequence[Candidate], seeds: Sequence[Seed], threshold: float) -> dict[int, tuple[int, float]]:
    """Candidate index -> (index of its nearest seed, their cosine), for the candidates at ``threshold`` or
    more to a seed."""
    if not (found and seeds):
        return {}
    sims = unit(np.array([c.embedding for c in found])) @ unit(np.array([s.embedding for s in seeds])).T
    best = sims.argmax(axis=1)
    return {i: (int(j), float(sims[i, j])) for i, j in enumerate(best) if sims[i, j] >= threshold}
