"""One typed, frozen configuration for every command, job and asset.

Read from the environment only when a command starts (``Settings.from_env``), never at import
time. Defaults are the embedded one-machine parts; each scale-out part is one variable away:

=================================  ===========================================================
``REASONLAKE_HOME``                data directory (default ``./.reasonlake``); two homes never
                                   interfere
``REASONLAKE_BOOTSTRAP_SERVERS``   an external Kafka (``host:port,...``) instead of the
                                   embedded Tansu broker
``REASONLAKE_BROKER_STORAGE``      embedded broker storage: ``s3`` (default, durable: local S3
                                   server under the home) or ``memory`` (lost on stop)
``REASONLAKE_CATALOG_URI``         ``http(s)://...`` → Iceberg REST catalog; any SQLAlchemy
                                   URI → SQL catalog (default SQLite under the home)
``REASONLAKE_CATALOG_WAREHOUSE``   warehouse location (default ``file://<home>/warehouse``)
``REASONLAKE_CATALOG_PROPERTIES``  JSON object of extra pyiceberg catalog properties
``REASONLAKE_ONLINE_STORE``        ``sqlite`` (default) or ``redis://host:port`` for Feast
``REASONLAKE_FLINK_ADDRESS``       ``host:port`` of a Flink JobManager (REST); default a local
                                   mini-cluster
``REASONLAKE_FLINK_PARALLELISM``   job parallelism (default 1)
``REASONLAKE_FLINK_CHECKPOINTS``   where Flink writes checkpoints (a URI every TaskManager
                                   reaches; default ``file://<home>/checkpoints``)
``REASONLAKE_EMBEDDING_BACKEND``   ``fp32`` (default, sentence-transformers) or ``int8-onnx``
                                   (same model, int8 ONNX; ``dagster_project.topics.embedders``)
=================================  ===========================================================
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

TOPIC_PREFIX = "feedback."
ALERTS_TOPIC = "feedback.alerts"
CATALOG_NAME = "reasonlake"


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".reasonlake")
    bootstrap_servers: str | None = None
    broker_storage: str = "s3"
    catalog_uri: str | None = None
    catalog_warehouse: str | None = None
    catalog_extra: Mapping[str, str] = field(default_factory=dict)
    online_store: str = "sqlite"
    flink_address: str | None = None
    flink_parallelism: int = 1
    flink_python_mode: str | None = None  # PyFlink python.execution-mode, "process" or "thread" (None: per job)
    flink_checkpoints: str | None = None  # checkpoint storage URI (None: file://<home>/checkpoints)
    embedding_backend: str = "fp32"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        settings = cls(
            home=Path(env.get("REASONLAKE_HOME", ".reasonlake")).expanduser().absolute(),
            bootstrap_servers=env.get("REASONLAKE_BOOTSTRAP_SERVERS") or None,
            broker_storage=env.get("REASONLAKE_BROKER_STORAGE", "s3"),
            catalog_uri=env.get("REASONLAKE_CATALOG_URI") or None,
            catalog_warehouse=env.get("REASONLAKE_CATALOG_WAREHOUSE") or None,
            catalog_extra=json.loads(env.get("REASONLAKE_CATALOG_PROPERTIES", "{}")),
            online_store=env.get("REASONLAKE_ONLINE_STORE", "sqlite"),
            flink_address=env.get("REASONLAKE_FLINK_ADDRESS") or None,
            flink_parallelism=int(env.get("REASONLAKE_FLINK_PARALLELISM", "1")),
            flink_python_mode=env.get("REASONLAKE_FLINK_PYTHON_MODE") or None,
            flink_checkpoints=env.get("REASONLAKE_FLINK_CHECKPOINTS") or None,
            embedding_backend=env.get("REASONLAKE_EMBEDDING_BACKEND") or "fp32",
        )
        overrides = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **overrides) if overrides else settings

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        env = {
            "REASONLAKE_HOME": str(self.home),
            "REASONLAKE_BROKER_STORAGE": self.broker_storage,
            "REASONLAKE_ONLINE_STORE": self.online_store,
            "REASONLAKE_FLINK_PARALLELISM": str(self.flink_parallelism),
            "REASONLAKE_EMBEDDING_BACKEND": self.embedding_backend,
            "REASONLAKE_CATALOG_PROPERTIES": json.dumps(dict(self.catalog_extra)),
        }
        for key, value in (
            ("REASONLAKE_BOOTSTRAP_SERVERS", self.bootstrap_servers),
            ("REASONLAKE_CATALOG_URI", self.catalog_uri),
            ("REASONLAKE_CATALOG_WAREHOUSE", self.catalog_warehouse),
            ("REASONLAKE_FLINK_ADDRESS", self.flink_address),
            ("REASONLAKE_FLINK_PYTHON_MODE", self.flink_python_mode),
            ("REASONLAKE_FLINK_CHECKPOINTS", self.flink_checkpoints),
        ):
            if value:
                env[key] = value
        return env

    def child_env(self, **extra: str) -> dict[str, str]:
        """This process's environment, minus what an in-process PyFlink run leaked into it, plus
        :meth:`to_env` and ``extra``: the environment of every child process a command starts.

        A PyFlink job run in this process on a local mini-cluster hosts its Python worker here
        (loopback mode), and the worker copies its parameters into ``os.environ``, among them
        ``PYFLINK_GATEWAY_DISABLED``: a PyFlink driver started with it refuses to start.
        """
        inherited = dict(os.environ)
        if "PYFLINK_GATEWAY_DISABLED" in inherited:  # the leak's mark; PYTHONPATH is the user's otherwise
            inherited = {key: value for key, value in inherited.items() if not _is_pyflink_worker_var(key)}
        return {**inherited, **self.to_env(), **extra}

    # ---- derived locations (all under the home) -------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def plots_dir(self) -> Path:
        return self.home / "plots"

    @property
    def checkpoints_uri(self) -> str:
        """Flink checkpoint storage: the pending commit batches of the ingest job live there."""
        return self.flink_checkpoints or (self.home / "checkpoints").absolute().as_uri()

    @property
    def duckdb_path(self) -> Path:
        return self.home / "dbt" / "reasonlake.duckdb"

    @property
    def feast_dir(self) -> Path:
        return self.home / "feast"

    def catalog_properties(self) -> dict[str, str]:
        """pyiceberg ``load_catalog(CATALOG_NAME, **props)`` properties."""
        warehouse = self.catalog_warehouse or (self.home / "warehouse").as_uri()
        if self.catalog_uri and self.catalog_uri.startswith(("http://", "https://")):
            props = {"type": "rest", "uri": self.catalog_uri, "warehouse": warehouse}
        else:
            uri = self.catalog_uri or f"sqlite:///{self.home / 'catalog.db'}"
            props = {"type": "sql", "uri": uri, "warehouse": warehouse, "init_catalog_tables": "true"}
        props.update(self.catalog_extra)
        return props

    def ensure_dirs(self) -> None:
        for d in (self.home, self.run_dir, self.logs_dir, self.models_dir, self.plots_dir,
                  self.duckdb_path.parent, self.feast_dir, self.home / "warehouse"):
            d.mkdir(parents=True, exist_ok=True)


#: what PyFlink's Python worker copies into ``os.environ`` (AbstractPythonEnvironmentManager)
_PYFLINK_WORKER_VARS = frozenset({"PYFLINK_GATEWAY_DISABLED", "BOOT_LOG_DIR", "PYTHONPATH"})


def _is_pyflink_worker_var(key: str) -> bool:
    return key in _PYFLINK_WORKER_VARS or key.startswith("_PYTHON_")

