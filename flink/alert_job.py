"""The streaming alert job: a new message matching an elected reason → an alert. Runs for weeks.

::

    Kafka feedback.<source>  (from the job's saved state, else after what ingestion committed)
      → micro-batches: up to N envelopes or T ms (Java EnvelopeBatcher, chained, in state)
      → classify (Python, ClassifyFunction): the live reasons refreshed between batches (hot reload
        on promotion), dissatisfied messages embedded in one batch, decided; stale elections alert nothing
      → one alert per message (Java AlertDeduplicator, keyed state)
      → per reason at most M alerts per window, a digest of the rest (Java AlertRateLimiter, keyed state)
      → Kafka feedback.alerts (KafkaSink, AT_LEAST_ONCE, 5 ms linger)
      ↘ accounting (every match with its outcome, every digest; stale matches passed through)
        → batches → alerts.alerts (Python AlertWriterFunction, each alert_id once)

Stopping (idle, Ctrl-C) takes a savepoint under the job's state folder; the next run restores the
newest savepoint or retained checkpoint, so the Kafka position, pending batches, hygiene state and
digest timers carry over. ``fresh=True`` (``reasonlake alerts --fresh``) ignores them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyflink.common import Types

from flink import alerting, checkpoints, metrics, operators, progress, runtime, watches
from flink.jobconfig import AlertJobConfig
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.settings import Settings
from services import broker, metrics_server

METRICS_PORT_FILE = "metrics-port"  # in the job's progress folder: the port its metrics are served on
COUNTERS = (
    "sent",
    "duplicate",
    "suppressed",
    "digest",
    "candidates",
    "no_alert",
    "satisfied",
    "unsure",
    "stale",
    "invalid",
    "reloads",
)


@dataclass(frozen=True)
class AlertSummary:
    sent: int  # alerts sent to feedback.alerts
    messages: int  # records read this run
    counts: Mapping[str, int]  # every counter of COUNTERS
    seconds: float
    restored_from: str | None  # the savepoint or checkpoint the run started from
    start_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # without saved state
    savepoint: str | None = None  # where this run's state was saved when it stopped

    @property
    def alerts(self) -> int:
        return self.sent

    def describe(self) -> str:
        """One line for people: messages read, every counter, where the state was saved."""
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"{self.messages:,} messages, {counts}; state saved: {self.savepoint or 'no'}; {self.seconds:.1f} s"


def run_alerts(
    settings: Settings,
    config: AlertJobConfig | None = None,
    until_idle_s: float | None = None,
    verbose: bool = True,
    min_messages: int = 0,
    metrics_port: int | None = None,
) -> AlertSummary:
    """Run the alert job until nothing arrived for ``until_idle_s`` and all is written (``None``: until
    Ctrl-C); with ``min_messages``, not idle before that many were read (see
    :func:`flink.runtime.run_until_idle`). Raises :class:`reasons.live.NoLiveModelError` before
    starting when nothing is live yet. With ``metrics_port`` (0: a free port) the driver serves Prometheus
    metrics (:mod:`flink.metrics`) at ``http://127.0.0.1:<port>/metrics`` while the job runs; a taken port
    falls back to a free one, said in one line."""
    started = time.monotonic()
    config = config or AlertJobConfig.from_settings(settings)
    settings.ensure_dirs()
    live = alerting.open_watcher(config).current()  # fail fast, before starting Flink
    if verbose:
        print(f"[alerts] live: {live.model_version} ({live.week}), {len(live.elected())} elected reason(s)", flush=True)
    restore = None if config.fresh else checkpoints.latest_state(config.state_dir)
    start = {} if restore else alerting.first_run_offsets(lake_catalog.load(settings))
    if verbose:
        print(f"[alerts] starting from {restore or 'after what ingestion committed'}", flush=True)
    # where this run starts reading: after what ingestion committed, or after where the last run got to
    if restore:
        last_run = progress.totals(progress.read_progress(config.progress_dir / "classify")).positions
        resumes = {tp: offset + 1 for tp, offset in last_run.items()}
    else:
        resumes = start
    for part in ("classify", "deliver"):
        progress.clear_progress(config.progress_dir / part)

    env = runtime.create_env(replace(config.runtime, restore_path=restore))
    batches = operators.envelope_batches(env, config.source, start, "kafka-feedback", config.micro_batch)
    candidates = batches.flat_map(operators.ClassifyFunction(config), output_type=Types.STRING())
    # stale matches pass the hygiene operators untouched, to the accounting only (never sent)
    to_kafka, accounting = operators.alert_hygiene(candidates.name("classify").uid("classify"), config.hygiene)
    to_kafka.sink_to(operators.kafka_string_sink(config.source.bootstrap_servers, config.alerts_topic)).name(
        "kafka-alerts"
    ).uid("kafka-alerts")
    operators.line_batches(accounting, config.table_batch, "alert-rows").flat_map(
        operators.AlertWriterFunction(config)
    ).name("alerts-table").uid("alerts-table").sink_to(operators.discarding_sink()).name("discard").uid("discard")
    parallelism = config.runtime.parallelism
    backlog = watches.broker_backlog(config.source, resumes, known_only=restore is not None)
    collector = metrics.AlertJobCollector(lag=backlog)
    server = None if metrics_port is None else _serve_metrics(collector, metrics_port, verbose, config.progress_dir)
    printer = runtime.print_totals("alerts", COUNTERS) if verbose else None

    def on_progress(totals: progress.Totals) -> None:
        collector.update(totals)
        if printer is not None:
            printer(totals)

    try:
        totals, savepoint = _run(env, config, parallelism, until_idle_s, on_progress, min_messages, backlog)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    return AlertSummary(
        sent=totals.count("sent"),
        messages=totals.records_seen,
        counts={name: totals.count(name) for name in COUNTERS},
        seconds=time.monotonic() - started,
        restored_from=restore,
        start_offsets=start,
        savepoint=savepoint,
    )


def _serve_metrics(collector: metrics.AlertJobCollector, port: int, verbose: bool, folder: Path):
    try:
        server, bound = metrics_server.serve(collector, port)
    except OSError as exc:  # taken: a free one, said
        server, bound = metrics_server.serve(collector, 0)
        print(f"[alerts] metrics port {port} unavailable ({exc.strerror}); serving on {bound}", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS_PORT_FILE).write_text(str(bound))  # where scrapers and tests find it
    if verbose:
        print(f"[alerts] Prometheus metrics at http://127.0.0.1:{bound}/metrics", flush=True)
    return server


def _run(env, config: AlertJobConfig, parallelism: int, until_idle_s, on_progress, min_messages, backlog):
    return runtime.run_until_idle(
        env,
        config.job_name,
        [(config.progress_dir / "classify", parallelism), (config.progress_dir / "deliver", parallelism)],
        config.run_id,
        until_idle_s,
        outage=functools.partial(broker.unreachable, config.source.outage_servers),
        on_progress=on_progress,
        savepoint_dir=config.state_dir + "/savepoints",
        min_records=min_messages,
        backlog=backlog,
    )
