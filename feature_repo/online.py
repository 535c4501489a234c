"""Online reads of the published election (the alert job and the classify API poll them through
``reasons.live.LiveWatcher``, which is also where they are cached)."""

from __future__ import annotations

from typing import Any

from feature_repo.config import feature_store
from feature_repo.features import FEATURES
from lake.settings import Settings


class ReasonLookup:
    """``get(reason_ids)`` → ``{reason_id: {label, rank, share, elected, week, model_version, valid_until} | None}``,
    one online-store read for all of them."""

    def __init__(self, settings: Settings) -> None:
        self._store = feature_store(settings)

    def get(self, reason_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        wanted = list(dict.fromkeys(reason_ids))
        if not wanted:
            return {}
        # the registered view's own features: a registry applied before a feature existed (valid_until)
        # answers without it until the next publication applies the repo again
        registered = {f.name for f in self._store.get_feature_view("reasons").features}
        names = [f for f in FEATURES if f in registered]
        found = self._store.get_online_features(
            features=[f"reasons:{f}" for f in names], entity_rows=[{"reason_id": rid} for rid in wanted]
        ).to_dict()
        out: dict[str, dict[str, Any] | None] = {}
        for i, rid in enumerate(wanted):
            row = {f: found[f][i] for f in names}
            out[rid] = None if all(v is None for v in row.values()) else row
        return out
