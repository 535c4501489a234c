"""One typed, validated, frozen configuration for every command, job and asset.

**Precedence: CLI flag > environment > default.** A command builds its :class:`Settings` once, when it
starts (:meth:`Settings.from_env` with the flags it was given), and passes it on explicitly: to the
Dagster resources (:class:`dagster_project.resources.ReasonlakeResource`), to dbt (``--vars``), to the
Flink jobs (their frozen configs). Nothing reads the environment at import time and nothing writes
it (a test guards this). Invalid values fail at once with one line naming the variable (or flag) and
what it accepts (:class:`SettingsError`).

=================================  ===========================================================
``REASONLAKE_HOME``                data directory (default ``./.reasonlake``); two homes never
                                   interfere
``REASONLAKE_BOOTSTRAP_SERVERS``   an external Kafka (``host:port,...``) instead of the
                                   embedded Tansu broker
``REASONLAKE_BROKER_STORAGE``      embedded broker storage: ``s3`` (default, durable: local S3
                                   server under the home) or ``memory`` (lost on stop)
``REASONLAKE_BROKER_INTAKE``       ``true`` (default): producers reach the embedded broker through
                                   its intake, which merges single-event requests into batches
                                   (:mod:`services.intake`); ``false``: straight to Tansu
``REASONLAKE_BROKER_INTAKE_LINGER_MS``  the intake stores at most one merged request this
                                   often (default 50): under load, one stored batch per
                                   partition per interval
``REASONLAKE_CATALOG_URI``         ``http(s)://...`` → Iceberg REST catalog; any SQLAlchemy
                                   URI (``dialect://...``) → SQL catalog (default SQLite under
                                   the home)
``REASONLAKE_CATALOG_WAREHOUSE``   warehouse location (default ``file://<home>/warehouse``)
``REASONLAKE_CATALOG_PROPERTIES``  JSON object of extra pyiceberg catalog properties
``REASONLAKE_CATALOG_BUSY_TIMEOUT_S``  how long a commit waits for a SQL catalog another writer
                                   holds locked before it fails (default 60)
``REASONLAKE_ONLINE_STORE``        ``sqlite`` (default) or ``redis://host:port`` for Feast
``REASONLAKE_FLINK_ADDRESS``       ``host:port`` of a Flink JobManager (REST); default a local
                                   mini-cluster
``REASONLAKE_FLINK_PARALLELISM``   job parallelism, an integer >= 1 (default 1)
``REASONLAKE_FLINK_PYTHON_MODE``   ``process`` or ``thread`` for every job (default: per job)
``REASONLAKE_FLINK_CHECKPOINTS``   where Flink writes checkpoints (a URI every TaskManager
                                   reaches; default ``file://<home>/checkpoints``)
``REASONLAKE_EMBEDDING_BACKEND``   ``fp32`` (default, sentence-transformers) or ``int8-onnx``
                                   (same model, int8 ONNX; :mod:`reasons.embedding.backends`)
``REASONLAKE_OPS_WEBHOOK_URL``     ``http(s)://...``: failed runs and gates are POSTed there
                                   too (they always go to the ``feedback.ops`` topic)
``REASONLAKE_POLICY_FILE``         the election policy (default ``reasons/election/policy.yaml``),
                                   used by the election, its gates and checks, and serving
``REASONLAKE_FIRST_WEEK``          the first weekly partition, ``YYYY-Www`` (default: the first
                                   week of ``raw.feedback``'s data when the definitions load)
``REASONLAKE_CONTRACT_MAX_AGE_DAYS``  a message older than this (by ``created_at``) is rejected
                                   as ``timestamp_out_of_range`` (default 3650)
=================================  ===========================================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TOPIC_PREFIX = "feedback."
ALERTS_TOPIC = "feedback.alerts"
OPS_TOPIC = "feedback.ops"  # failed runs and failed gates (dagster_project.ops)
PIPELINE_TOPICS = (ALERTS_TOPIC, OPS_TOPIC)  # written by the pipeline: never feedback, never ingested
CATALOG_NAME = "reasonlake"
BUSY_TIMEOUT_PROPERTY = "reasonlake.busy-timeout-s"

#: Settings field -> its environment variable (the one place the names are spelt out).
ENV_VARS: dict[str, str] = {
    "home": "REASONLAKE_HOME",
    "bootstrap_servers": "REASONLAKE_BOOTSTRAP_SERVERS",
    "broker_storage": "REASONLAKE_BROKER_STORAGE",
    "broker_intake": "REASONLAKE_BROKER_INTAKE",
    "broker_intake_linger_ms": "REASONLAKE_BROKER_INTAKE_LINGER_MS",
    "broker_intake_at_once_per_s": "REASONLAKE_BROKER_INTAKE_AT_ONCE_PER_S",
    "catalog_uri": "REASONLAKE_CATALOG_URI",
    "catalog_warehouse": "REASONLAKE_CATALOG_WAREHOUSE",
    "catalog_extra": "REASONLAKE_CATALOG_PROPERTIES",
    "catalog_busy_timeout_s": "REASONLAKE_CATALOG_BUSY_TIMEOUT_S",
    "online_store": "REASONLAKE_ONLINE_STORE",
    "flink_address": "REASONLAKE_FLINK_ADDRESS",
    "flink_parallelism": "REASONLAKE_FLINK_PARALLELISM",
    "flink_python_mode": "REASONLAKE_FLINK_PYTHON_MODE",
    "flink_checkpoints": "REASONLAKE_FLINK_CHECKPOINTS",
    "embedding_backend": "REASONLAKE_EMBEDDING_BACKEND",
    "policy_file": "REASONLAKE_POLICY_FILE",
    "raw_retention_days": "REASONLAKE_RAW_RETENTION_DAYS",
    "broker_retention_days": "REASONLAKE_BROKER_RETENTION_DAYS",
    "ops_webhook_url": "REASONLAKE_OPS_WEBHOOK_URL",
    "first_week": "REASONLAKE_FIRST_WEEK",
    "contract_max_age_days": "REASONLAKE_CONTRACT_MAX_AGE_DAYS",
}

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


class SettingsError(ValueError):
    """A configuration value is invalid; the message is one line naming where it came from."""


class Settings(BaseModel):
    """The configuration; build it with :meth:`from_env` (commands) or :meth:`from_strings` (resources)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(default=Path(".reasonlake"), validate_default=True)  # made absolute
    bootstrap_servers: str | None = None
    broker_storage: Literal["s3", "memory"] = "s3"
    # clients reach the embedded broker through services.intake (single events merged into batches, readers
    # at a partition's end answered from what it stored last); a merged request lingers only past
    # broker_intake_at_once_per_s stored batches a second
    broker_intake: bool = True
    broker_intake_linger_ms: float = Field(default=50.0, ge=0, le=1000)
    broker_intake_at_once_per_s: float = Field(default=100.0, ge=0)
    catalog_uri: str | None = None
    catalog_warehouse: str | None = None
    catalog_extra: dict[str, str] = Field(default_factory=dict)
    catalog_busy_timeout_s: float = Field(default=60.0, gt=0)
    online_store: str = "sqlite"
    flink_address: str | None = None
    flink_parallelism: int = Field(default=1, ge=1)
    flink_python_mode: Literal["process", "thread"] | None = None  # None: per job
    flink_checkpoints: str | None = None  # None: file://<home>/checkpoints
    embedding_backend: Literal["fp32", "int8-onnx"] = "fp32"
    policy_file: Path | None = None  # None: reasons/election/policy.yaml
    # raw.feedback keeps the original text (personal data included) this many days by created_at
    # (raw.feedback_rejected by rejected_at); `maintain` deletes older rows. None: kept for ever.
    raw_retention_days: int | None = Field(default=None, ge=1)
    # the embedded broker keeps the records ingestion has committed this many days (Kafka's default
    # retention); `maintain` deletes older ones, sooner when raw_retention_days is shorter
    broker_retention_days: int = Field(default=7, ge=1)
    # failed runs and failed gates are also POSTed (JSON) here; None: only the feedback.ops topic
    ops_webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # the first weekly partition (ISO week); None: the first week of raw.feedback's data when the
    # Dagster definitions load (dagster_project.partitions.first_week)
    first_week: str | None = None
    # the contract rejects a message whose created_at is older than this many days (an archive
    # replay needs it large enough; flink.contract.ContractLimits.max_age)
    contract_max_age_days: int = Field(default=3650, ge=1)

    # ---- validation ------------------------------------------------------------------------------
    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("policy_file")
    @classmethod
    def _policy_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError("expected the path of an existing election policy YAML file")
        return None if value is None else value.expanduser().absolute()

    @field_validator("first_week")
    @classmethod
    def _first_week(cls, value: str | None) -> str | None:
        if value is not None:
            from lake.weeks import parse_week

            parse_week(value)  # ValueError: "week ... is not ISO YYYY-Www"
        return value

    @field_validator("online_store")
    @classmethod
    def _online_store(cls, value: str) -> str:
        if value == "sqlite" or re.match(r"^redis://[^/:]+(:\d+)?(/\d*)?$", value):
            return value
        raise ValueError("expected 'sqlite' or 'redis://host[:port][/db]'")

    @field_validator("flink_address")
    @classmethod
    def _flink_address(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_PORT.match(value):
            raise ValueError("expected host:port of a Flink JobManager's REST endpoint")
        return value

    @field_validator("catalog_uri")
    @classmethod
    def _catalog_uri(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(
                "expected http(s)://host/... (REST catalog) or an SQLAlchemy URI such as "
                "postgresql+psycopg://user@host/db"
            )
        return value

    @field_validator("catalog_extra", mode="before")
    @classmethod
    def _catalog_extra(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"expected a JSON object of pyiceberg properties ({exc.msg})") from None
        if not isinstance(value, Mapping):
            raise ValueError("expected a JSON object of pyiceberg properties")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def from_strings(cls, values: Mapping[str, str | None], origin: Mapping[str, str] | None = None) -> Settings:
        """Settings from raw strings per field (empty or None: the default); a :class:`SettingsError`
        names ``origin[field]`` (the variable or flag the value came from) and what is accepted."""
        given = {k: v for k, v in values.items() if v is not None and v != ""}
        unknown = set(given) - set(ENV_VARS)
        if unknown:
            raise SettingsError(f"unknown settings {sorted(unknown)}; known: {', '.join(ENV_VARS)}")
        try:
            return cls(**given)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "?"
            where = (origin or {}).get(name, ENV_VARS.get(name, name))
            raise SettingsError(f"{where}={given.get(name)!r} is not valid: {_accepted(name, error)}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """CLI flag > environment > default. ``flags`` are keyword arguments named like the fields
        (None: not given); ``environ`` defaults to ``os.environ`` (read here, never at import)."""
        env = os.environ if environ is None else environ
        values: dict[str, str | None] = {f: env.get(var) for f, var in ENV_VARS.items()}
        origin = dict(ENV_VARS)
        for name, value in flags.items():
            if value is not None:
                values[name] = str(value)
                origin[name] = "--" + name.replace("_", "-")
        return cls.from_strings(values, origin)

    def to_strings(self) -> dict[str, str]:
        """Every field as the string its variable would hold ("" for unset optional ones): the inverse
        of :meth:`from_strings`, what a Dagster resource or a child process is given."""
        out = {}
        for name in ENV_VARS:
            value = getattr(self, name)
            if name == "catalog_extra":
                out[name] = json.dumps(dict(value), sort_keys=True)
            else:
                out[name] = "" if value is None else str(value)
        return out

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process (all of them)."""
        return {ENV_VARS[name]: value for name, value in self.to_strings().items()}

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with ``changes``."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def child_env(self, **extra: str) -> dict[str, str]:
        """This process's environment, minus what an in-process PyFlink run leaked into it, plus
        :meth:`to_env` and ``extra``: the environment of every child process a command starts.

        A PyFlink job run in this process on a local mini-cluster hosts its Python worker here
        (loopback mode), and the worker copies its parameters into ``os.environ``, among them
        ``PYFLINK_GATEWAY_DISABLED``: a PyFlink driver started with it refuses to start. A worker of a
        standalone TaskManager may also bring an empty ``JAVA_HOME`` (Flink's scripts export one when
        none is set), with which a PyFlink driver runs ``bin/java``: an empty one is dropped. Flink's
        location variables (:data:`FLINK_LOCATION_VARS`) are never inherited: one pointing at another
        Flink's folders gave a child's driver a class path without Flink (``ClassNotFoundException:
        org.apache.flink.util.NetUtils`` in the full test suite).
        """
        worker_leak = "PYFLINK_GATEWAY_DISABLED" in os.environ  # the leak's mark; PYTHONPATH is the user's otherwise
        inherited = {k: v for k, v in os.environ.items() if not _left_behind(k, v, worker_leak)}
        return {**inherited, **self.to_env(), **extra}

    # ---- derived locations (all under the home) ---------------------------------------------------
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
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dagster_dir(self) -> Path:
        """The home's persistent Dagster instance (``DAGSTER_HOME`` of the UI and CLI runs)."""
        return self.home / "dagster"

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
            # read back by lake.catalog.commit_retrying through the table's catalog
            props[BUSY_TIMEOUT_PROPERTY] = str(self.catalog_busy_timeout_s)
        props.update(self.catalog_extra)
        return props

    def ensure_dirs(self) -> None:
        for d in (
            self.home,
            self.run_dir,
            self.logs_dir,
            self.models_dir,
            self.plots_dir,
            self.duckdb_path.parent,
            self.feast_dir,
            self.home / "warehouse",
        ):
            d.mkdir(parents=True, exist_ok=True)


def _accepted(name: str, error: Mapping[str, Any]) -> str:
    """What ``name`` accepts, for the one-line error."""
    annotation: Any = Settings.model_fields[name].annotation
    kinds = [annotation, *getattr(annotation, "__args__", ())]
    literal = [v for kind in kinds if getattr(kind, "__origin__", None) is Literal for v in kind.__args__]
    if literal:
        return "expected one of " + ", ".join(map(str, literal))
    if str(error.get("type", "")).startswith(("int_", "greater_than")):
        return "expected an integer of at least 1"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


#: what PyFlink's Python worker copies into ``os.environ`` (AbstractPythonEnvironmentManager)
_PYFLINK_WORKER_VARS = frozenset({"PYFLINK_GATEWAY_DISABLED", "BOOT_LOG_DIR", "PYTHONPATH"})
# where a PyFlink driver's JVM finds Flink (its class path, its config): PyFlink writes some of them into
# the environment of any process that started a gateway, a loopback worker copies a JVM's; a child finds
# its own Flink (the project passes them explicitly to the standalone cluster's scripts)
FLINK_LOCATION_VARS = frozenset(
    {"FLINK_HOME", "FLINK_CONF_DIR", "FLINK_LIB_DIR", "FLINK_OPT_DIR", "FLINK_PLUGINS_DIR", "FLINK_BIN_DIR"}
)


def _left_behind(key: str, value: str, worker_leak: bool) -> bool:
    """Whether an inherited variable is one :meth:`Settings.child_env` never hands on: Flink's locations,
    an empty ``JAVA_HOME``, and (after a loopback worker ran here) the worker's own."""
    return (
        key in FLINK_LOCATION_VARS
        or (key == "JAVA_HOME" and not value)
        or (worker_leak and (key in _PYFLINK_WORKER_VARS or key.startswith("_PYTHON_")))
    )
