"""Online reads of the published election (the alert job and the classify API poll them through
``reasons.live.LiveWatcher``, which holds the live election between polls).

Feast is the store of record; :class:`ReasonLookup` keeps what it read until the next publication: every
publication (:func:`feature_repo.publish.publish_reasons`) writes a new stamp beside the repo
(:func:`mark_published`), and a read whose stamp is unchanged is answered from memory (a ``stat`` and a
dict, microseconds), one whose stamp changed (or with no stamp) from the online store (~8-10 ms on SQLite
and Redis alike; bench/online.py).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from feature_repo.config import feature_store, repo_config
from feature_repo.features import FEATURES
from lake.settings import Settings


def stamp_path(settings: Settings) -> Path:
    return settings.feast_dir / "published.stamp"


def mark_published(settings: Settings) -> None:
    """A new publication stamp: every :class:`ReasonLookup` reads the online store again."""
    path = stamp_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(uuid.uuid4().hex)
    tmp.replace(path)


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
        self._stamp_path = stamp_path(settings)
        self._cached: dict[str, dict[str, Any] | None] = {}
        self._cached_under: tuple | None = None  # the stamp (and store file) the cache was read under

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

    def _stamp(self) -> tuple | None:
        try:
            stat = os.stat(self._stamp_path)
        except FileNotFoundError:
            return None  # published before stamps existed, or never: always read the store
        return stat.st_ino, stat.st_mtime_ns, stat.st_size, self._identity()

    def get(self, reason_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        wanted = list(dict.fromkeys(reason_ids))
        if not wanted:
            return {}
        stamp = self._stamp()
        if stamp is not None and stamp == self._cached_under and all(r in self._cached for r in wanted):
            return {r: None if self._cached[r] is None else dict(self._cached[r]) for r in wanted}  # type: ignore[arg-type]
        found = self._read(wanted)
        if stamp != self._cached_under:
            self._cached = {}
        self._cached.update(found)
        self._cached_under = stamp
        return {r: None if v is None else dict(v) for r, v in found.items()}

    def _read(self, wanted: list[str]) -> dict[str, dict[str, Any] | None]:
        """The online store's answer (Feast)."""
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
