"""Online reads of the published election (the alert job and the classify API poll them through
``reasons.live.LiveWatcher``, which is also where they are cached)."""

from __future__ import annotations

import os
from typing import Any

from feature_repo.config import feature_store, repo_config
from feature_repo.features import FEATURES
from lake.settings import Settings


class ReasonLookup:
    """``get(reason_ids)`` → ``{reason_id: {label, rank, share, elected, week, model_version, valid_until} | None}``,
    one online-store read for all of them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store = feature_store(settings)
        online = repo_config(settings).online_store
        # a SQLite store is a file Feast keeps one connection to: that connection would go on reading a
        # deleted file, and never see a file put back in its place
        self._path: str | None = getattr(online, "path", None) if getattr(online, "type", "") == "sqlite" else None
        self._file = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def _check_file(self) -> None:
        if self._path is None:
            return
        identity = self._identity()
        if identity is None:
            raise FileNotFoundError(f"the online store {self._path} is missing")
        if identity != self._file:  # replaced (restored, re-created): read the new file
            self._store, self._file = feature_store(self._settings), identity

    def get(self, reason_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        wanted = list(dict.fromkeys(reason_ids))
        if not wanted:
            return {}
        self._check_file()
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
