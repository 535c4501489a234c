"""The Feast configuration of a home: ``feature_store.yaml`` of this folder with its variables filled in
from the settings (never from the process environment), the registry and online store under the home.

``settings.online_store = "redis://host:port[/db]"`` selects a Redis online store instead of SQLite.
The offline store is Feast's file store over the parquet the feast/reasons asset exports, which
``features.reasons_source`` names relative to the repo path (``<home>/feast``).
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from urllib.parse import urlparse

import yaml
from feast import FeatureStore, RepoConfig

from feature_repo import features
from lake.settings import Settings

PROJECT = "reasonlake"
FEATURE_STORE_YAML = Path(__file__).with_name("feature_store.yaml")


def feast_variables(settings: Settings) -> dict[str, str]:
    """The variables ``feature_store.yaml`` reads, for this home."""
    if settings.online_store.startswith("redis://"):
        url = urlparse(settings.online_store)
        extra = f",db={url.path.strip('/')}" if url.path.strip("/") else ""
        online = {"type": "redis", "connection_string": f"{url.hostname}:{url.port or 6379}{extra}"}
    else:
        online = {"type": "sqlite", "path": str(settings.feast_dir / "online.db")}
    return {
        "REASONLAKE_FEAST_REGISTRY": str(settings.feast_dir / "registry.db"),
        "REASONLAKE_FEAST_ONLINE_STORE": json.dumps(online),  # JSON is a YAML flow mapping
    }


def repo_config(settings: Settings) -> RepoConfig:
    text = string.Template(FEATURE_STORE_YAML.read_text()).substitute(feast_variables(settings))
    config = RepoConfig(**yaml.safe_load(text))
    config.repo_path = settings.feast_dir
    return config


def reasons_parquet(settings: Settings) -> Path:
    """Where the feast/reasons asset exports the election rows (the ``reasons_source`` file)."""
    return settings.feast_dir / features.REASONS_PARQUET


def feature_store(settings: Settings) -> FeatureStore:
    (settings.feast_dir / "data").mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=repo_config(settings))


def apply(store: FeatureStore) -> None:
    """Register the entity, sources and feature view (idempotent)."""
    store.apply(list(features.OBJECTS))
