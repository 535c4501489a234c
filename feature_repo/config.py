"""The Feast configuration of a reasonlake home, built from Settings (no feature_store.yaml needed).

Registry, SQLite online store and the exported parquet live under ``settings.feast_dir``;
``settings.online_store = "redis://host:port"`` selects a Redis online store instead. The offline
store is Feast's file store over the parquet that the feast/reasons asset exports.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from feast import FeatureStore, RepoConfig
from feast.infra.offline_stores.dask import DaskOfflineStoreConfig
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

from feature_repo import features
from lake.settings import Settings

PROJECT = "reasonlake"


def repo_config(settings: Settings) -> RepoConfig:
    feast_dir = settings.feast_dir
    online: RedisOnlineStoreConfig | SqliteOnlineStoreConfig
    if settings.online_store.startswith("redis://"):
        url = urlparse(settings.online_store)
        extra = f",db={url.path.strip('/')}" if url.path.strip("/") else ""
        online = RedisOnlineStoreConfig(connection_string=f"{url.hostname}:{url.port or 6379}{extra}")
    elif settings.online_store == "sqlite":
        online = SqliteOnlineStoreConfig(path=str(feast_dir / "online.db"))
    else:
        raise ValueError(f"online store {settings.online_store!r}: expected 'sqlite' or 'redis://host:port'")
    return RepoConfig(
        project=PROJECT,
        provider="local",
        registry=str(feast_dir / "registry.db"),
        online_store=online,
        offline_store=DaskOfflineStoreConfig(type="file"),
        repo_path=feast_dir,
        entity_key_serialization_version=3,
    )


def reasons_parquet(settings: Settings) -> Path:
    """Where the feast/reasons asset exports the election rows (the ``reasons_source`` file)."""
    return settings.feast_dir / features.REASONS_PARQUET


def feature_store(settings: Settings) -> FeatureStore:
    (settings.feast_dir / "data").mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=repo_config(settings))


def apply(store: FeatureStore) -> None:
    """Register the entity, sources and feature view (idempotent)."""
    store.apply(list(features.OBJECTS))
