"""Online lookups of elected reasons, for the streaming alert job (one store, a short TTL cache)."""

from __future__ import annotations

import time
from collections.abc import Callable

from feature_repo.config import feature_store
from feature_repo.features import FEATURES
from lake.settings import Settings


class ReasonLookup:
    """``get(reason_ids)`` → ``{reason_id: {label, rank, share, elected, week, model_version} | None}``.

    Answers are cached ``ttl_s`` seconds per reason id (misses too), so a stream of messages costs
    one online-store read per distinct reason and TTL, and a new election shows up within ``ttl_s``.
    """

    def __init__(self, settings: Settings, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._store = feature_store(settings)
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, dict | None]] = {}
        self._refs = [f"reasons:{f}" for f in FEATURES]

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]:
        now = self._clock()
        out: dict[str, dict | None] = {}
        missing = []
        for rid in dict.fromkeys(reason_ids):
            hit = self._cache.get(rid)
            if hit is not None and now - hit[0] < self._ttl_s:
                out[rid] = hit[1]
            else:
                missing.append(rid)
        if missing:
            found = self._store.get_online_features(
                features=self._refs, entity_rows=[{"reason_id": rid} for rid in missing]
            ).to_dict()
            for i, rid in enumerate(missing):
                row = {f: found[f][i] for f in FEATURES}
                value = None if all(v is None for v in row.values()) else row
                self._cache[rid] = (now, value)
                out[rid] = value
        return out
