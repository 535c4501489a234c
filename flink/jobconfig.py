"""Frozen configuration of the streaming jobs and the batch embedding job, built from :class:`lake.settings.Settings`.

The configs are pickled into the Flink Python workers, so they hold only plain values.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from flink.contract import ContractLimits
from flink.defaults import ALERT_BATCH_MS, ALERT_BATCH_SIZE, INGEST_BATCH_ROWS, INGEST_FLUSH_S
from lake.settings import ALERTS_TOPIC, Settings
from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.sentiment import DissatisfactionRule

# Every feedback.<source> topic except the alerts output (java.util.regex syntax).
# every feedback.<source> topic, not the ones the pipeline writes (lake.settings.PIPELINE_TOPICS)
FEEDBACK_TOPIC_PATTERN = r"feedback\.(?!(?:alerts|ops)$).+"


@dataclass(frozen=True)
class FlinkRuntime:
    """How a job runs: where, how wide, how it restarts."""

    parallelism: int = 1
    flink_address: str | None = None  # host:port of a JobManager; None = local mini-cluster
    restart_attempts: int = 3
    restart_delay_s: float = 2.0
    checkpoint_interval_s: float | None = None  # None = no checkpoints
    # Checkpoint storage URI. None = the JobManager's heap, which refuses a subtask's state over 5 MB
    # (a few thousand pending envelopes): every job that checkpoints sets it (from_settings does).
    checkpoint_dir: str | None = None
    python_executable: str = field(default_factory=lambda: sys.executable)
    python_files: tuple[str, ...] = ()  # extra modules shipped to the Python workers
    python_mode: str = "process"  # "process": Python workers over gRPC; "thread": embedded (pemja)
    # process mode hands records to Python in bundles (Flink's defaults: 1,000 records or 1,000 ms);
    # a latency-bound job sets smaller ones. None: Flink's default.
    python_bundle_size: int | None = None
    python_bundle_time_ms: int | None = None
    # how long an output buffer may wait before it is sent downstream (Flink's default: 100 ms per
    # network hop); a latency-bound job sets a few ms. None: Flink's default.
    buffer_timeout_ms: int | None = None
    # keep the last checkpoints when the job is cancelled or fails (a later run restores them)
    retain_checkpoints: bool = False
    restore_path: str | None = None  # a savepoint or retained checkpoint to start from

    def __post_init__(self) -> None:
        if self.python_mode not in ("process", "thread"):
            raise ValueError(f"python_mode must be 'process' or 'thread', not {self.python_mode!r}")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> FlinkRuntime:
        chosen = {"python_mode": settings.flink_python_mode} if settings.flink_python_mode else {}
        return cls(
            **{
                "parallelism": settings.flink_parallelism,
                "flink_address": settings.flink_address,
                "checkpoint_dir": settings.checkpoints_uri,
                **chosen,
                **overrides,
            }
        )


S3_FETCH_MAX_WAIT_MS = 500  # the alert job's Kafka fetch wait on the embedded broker's s3 storage


@dataclass(frozen=True)
class SourceConfig:
    """The Kafka source shared by both jobs."""

    bootstrap_servers: str
    # the consumer's long-poll (None: Kafka's 500 ms). Against the embedded Tansu broker 20 ms lost records
    # (a run read 2 of 8): leave it unset there.
    fetch_max_wait_ms: int | None = None
    topic_pattern: str = FEEDBACK_TOPIC_PATTERN
    discovery_interval_ms: int = 2000
    group_id: str = "reasonlake"  # Flink does not rely on it; it only names the client
    # the broker itself when bootstrap_servers is a front to it (the embedded broker's intake, which answers
    # while the broker is down): what the jobs' outage watch probes
    broker_servers: str | None = None

    @property
    def outage_servers(self) -> str:
        return self.broker_servers or self.bootstrap_servers


@dataclass(frozen=True)
class BatchPolicy:
    """When a sink commits: at ``batch_size`` buffered records or ``flush_interval_s`` after the first
    (for the ingest job the Java ``EnvelopeBatcher`` applies it, the batch held in Flink state).

    The defaults size the ingest job's commits (the target: median data file >= 1 MB at steady load,
    bench/RESULTS.md, "Ingestion"; chosen in docs/history/results-journal.md, section "2026-11-28, later"): a
    steady stream of current feedback (one day partition per commit, ~44 bytes per row in Parquet)
    writes 50,000-row files of ~2 MB from 2,500 msg/s up and files of >= 1 MB from ~1,200 msg/s
    (20 s of it); a record is visible in Iceberg at most ~20 s after it arrived. Lower rates write
    smaller files until ``reasonlake maintain`` compacts them. Alerts do not wait for these commits.
    """

    batch_size: int = INGEST_BATCH_ROWS
    flush_interval_s: float = INGEST_FLUSH_S

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.flush_interval_s <= 0:
            raise ValueError(f"invalid batch policy {self}")


INGEST_CHECKPOINT_INTERVAL_S = 10.0


@dataclass(frozen=True)
class IngestJobConfig:
    """Kafka ``feedback.<source>`` → ``raw.feedback`` / ``raw.feedback_rejected``."""

    settings: Settings
    source: SourceConfig
    runtime: FlinkRuntime = field(default_factory=FlinkRuntime)
    batch: BatchPolicy = field(default_factory=BatchPolicy)
    limits: ContractLimits = field(default_factory=ContractLimits)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    job_name: str = "reasonlake-ingest"
    # Fault injection (tests): subtask 0 raises once, on the batch after this many commits and before
    # committing it, so Flink restores the job from its last checkpoint; a marker file in
    # ``progress_dir`` makes it once per run id.
    fail_after_commits: int | None = None

    @property
    def progress_dir(self) -> Path:
        return self.settings.run_dir / "ingest"

    @classmethod
    def from_settings(cls, settings: Settings, *, bootstrap_servers: str | None = None, **overrides) -> IngestJobConfig:
        """``bootstrap_servers`` defaults to :func:`services.broker.bootstrap_servers` (external or embedded):
        the broker itself, not its intake. Ingestion's delay is its commit interval, so the intake's tail would
        buy it nothing, and it reads in steady steps what producers send straight to the broker, which a reader
        of the tail sees only when the intake looks at Tansu (every 2 s)."""
        from services import broker

        source = SourceConfig(
            bootstrap_servers=bootstrap_servers or broker.bootstrap_servers(settings), group_id="reasonlake-ingest"
        )
        # thread mode unless the settings choose: the records/s of process mode without a Python worker
        # process (~350 MB less at peak; docs/history/results-journal.md, section "2026-11-28 update"). Checkpoints
        # store the pending batches with the source's position (flink.operators.envelope_batches).
        runtime = FlinkRuntime.from_settings(
            settings,
            python_mode=settings.flink_python_mode or "thread",
            checkpoint_interval_s=INGEST_CHECKPOINT_INTERVAL_S,
        )
        limits = ContractLimits(max_age=timedelta(days=settings.contract_max_age_days))
        return replace(cls(settings=settings, source=source, runtime=runtime, limits=limits), **overrides)


@dataclass(frozen=True)
class AlertHygiene:
    """One alert per message, and a per-reason rate limit with a digest of the rest (Flink keyed state)."""

    dedup_ttl_s: float = 30 * 24 * 3600.0  # how long a message key is remembered as alerted
    max_alerts_per_reason: int = 20  # per window; the rest are counted into the window's digest alert
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if self.dedup_ttl_s < 1 or self.max_alerts_per_reason < 1 or self.window_s <= 0:
            raise ValueError(f"invalid alert hygiene {self}")


@dataclass(frozen=True)
class AlertJobConfig:
    """Kafka ``feedback.<source>`` → micro-batches → classify with the live reasons → hygiene →
    ``feedback.alerts`` + ``alerts.alerts`` (see :mod:`flink.alert_job`)."""

    settings: Settings
    source: SourceConfig
    runtime: FlinkRuntime = field(default_factory=FlinkRuntime)
    # up to batch_size messages or flush_interval_s per classify call (one embedding batch)
    micro_batch: BatchPolicy = field(
        default_factory=lambda: BatchPolicy(batch_size=ALERT_BATCH_SIZE, flush_interval_s=ALERT_BATCH_MS / 1000)
    )
    # alert rows per alerts.alerts commit
    table_batch: BatchPolicy = field(default_factory=lambda: BatchPolicy(batch_size=1000, flush_interval_s=2.0))
    limits: ContractLimits = field(default_factory=ContractLimits)
    alerts_topic: str = ALERTS_TOPIC
    reload_interval_s: float = 5.0  # how often the live model and election are checked for a promotion
    dissatisfaction: DissatisfactionRule = field(default_factory=DissatisfactionRule)  # same rule as the election
    # the dissatisfaction classifier's JSON (reasons.sentiment.DissatisfactionModel); None: the committed one
    dissatisfaction_model: Path | None = None
    hygiene: AlertHygiene = field(default_factory=AlertHygiene)
    # Modules providing ``current_artifact_path`` + ``TopicArtifact`` and ``ReasonLookup``
    # (tests substitute fakes shipped with ``runtime.python_files``).
    model_module: str = "reasons.topics.artifact"
    lookup_module: str = "feature_repo.online"
    fresh: bool = False  # ignore the job's saved state (start after what ingestion committed)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    job_name: str = "reasonlake-alerts"

    @property
    def progress_dir(self) -> Path:
        return self.settings.run_dir / "alerts"

    @property
    def state_dir(self) -> str:
        """Where the job's checkpoints and savepoints live (its state: positions, pending batches, hygiene)."""
        return self.settings.checkpoints_uri.rstrip("/") + "/alerts"

    @classmethod
    def from_settings(cls, settings: Settings, *, bootstrap_servers: str | None = None, **overrides) -> AlertJobConfig:
        from services import broker

        embedded_s3 = not settings.bootstrap_servers and settings.broker_storage == "s3"
        source = SourceConfig(  # through the intake: its tail answers the job the moment a batch is stored
            bootstrap_servers=bootstrap_servers or broker.intake_servers(settings),
            broker_servers=None if bootstrap_servers else broker.bootstrap_servers(settings),
            group_id="reasonlake-alerts",
            # the intake's tail answers a reader at a partition's end the moment a batch is stored, whatever
            # the wait; a fetch it passes to the embedded broker on s3 lists the partition's stored batches,
            # and Tansu answers nothing when the listing outlasts the wait: 50 ms starved a partition of
            # ~1,500 single-message batches for good (services/localbucket_server.py), Kafka's own 500 ms not
            fetch_max_wait_ms=S3_FETCH_MAX_WAIT_MS if embedded_s3 else 50,
        )
        # Checkpoints make the AT_LEAST_ONCE KafkaSink flush its producer regularly, and carry the
        # hygiene state; a batch goes to Python at once (bundles of one micro-batch).
        runtime = FlinkRuntime.from_settings(
            settings,
            checkpoint_interval_s=2.0,
            checkpoint_dir=settings.checkpoints_uri.rstrip("/") + "/alerts",
            retain_checkpoints=True,
            python_bundle_size=1,
            python_bundle_time_ms=5,
            buffer_timeout_ms=5,
        )
        return replace(cls(settings=settings, source=source, runtime=runtime), **overrides)


@dataclass(frozen=True)
class EmbedJobConfig:
    """One week's ``ml.embedding_inputs`` → embed → ``ml.embeddings``: the PyFlink job in BATCH runtime mode.

    Each staged data file is one task; ``runtime.parallelism`` subtasks (at most one per file) embed
    them, each loading the embedder once.
    """

    settings: Settings
    week: str
    runtime: FlinkRuntime = field(default_factory=FlinkRuntime)
    embedding_model: str = EMBEDDING_MODEL  # the key of the vectors in ml.embeddings: names the embedder's model
    embedding_backend: str | None = None  # passed to ``load_embedder`` when set; None = its default
    batch_size: int = 128  # texts per encode call
    # Module providing ``load_embedder`` (tests substitute a fake shipped with ``runtime.python_files``).
    embedder_module: str = "reasons.embedding.backends"
    job_name: str = "reasonlake-embed"

    def __post_init__(self) -> None:
        from lake.weeks import parse_week

        parse_week(self.week)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")

    @classmethod
    def from_settings(cls, settings: Settings, week: str, **overrides) -> EmbedJobConfig:
        return replace(cls(settings=settings, week=week, runtime=FlinkRuntime.from_settings(settings)), **overrides)
