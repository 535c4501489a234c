"""The streaming alert job: a new message matching an elected reason → an alert.

Kafka source (envelopes, from :func:`flink.alerting.resume_offsets`) → key by partition →
:class:`flink.operators.AlertFunction` (model loaded once per worker, Feast lookups cached,
alert rows committed to ``alerts.alerts`` with offsets) → alert JSON → Flink ``KafkaSink``
(AT_LEAST_ONCE) on ``feedback.alerts``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pyflink.common import Types

from flink import alerting, operators, progress, runtime
from flink.jobconfig import AlertJobConfig
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.settings import Settings


@dataclass(frozen=True)
class AlertSummary:
    alerts: int
    messages: int  # records read this run
    invalid: int
    duplicates_skipped: int
    seconds: float
    start_offsets: dict[TopicPartition, int]


def run_alerts(
    settings: Settings, config: AlertJobConfig | None = None, until_idle_s: float | None = None, verbose: bool = True
) -> AlertSummary:
    """Run the alert job until nothing arrived for ``until_idle_s`` and all is committed
    (``None``: until Ctrl-C). Raises :class:`NoTopicModelError` before starting if no model exists."""
    started = time.monotonic()
    config = config or AlertJobConfig.from_settings(settings)
    settings.ensure_dirs()
    path = alerting.model_path(config)  # fail fast, before starting Flink
    if verbose:
        print(f"[alerts] topic model {path}", flush=True)
    start = alerting.resume_offsets(lake_catalog.load(settings))
    progress.clear_progress(config.progress_dir)

    env = runtime.create_env(config.runtime)
    operators.envelope_stream(env, config.source, start, "kafka-feedback").process(
        operators.AlertFunction(config), output_type=Types.STRING()
    ).name("classify-and-alert").sink_to(
        operators.kafka_string_sink(config.source.bootstrap_servers, config.alerts_topic)
    ).name("kafka-alerts")
    totals = runtime.run_until_idle(
        env,
        config.job_name,
        config.progress_dir,
        config.run_id,
        config.runtime.parallelism,
        until_idle_s,
        on_progress=runtime.print_totals("alerts", ("alerts", "no_alert", "satisfied", "invalid")) if verbose else None,
    )
    return AlertSummary(
        alerts=totals.count("alerts"),
        messages=totals.records_seen,
        invalid=totals.count("invalid"),
        duplicates_skipped=totals.duplicates_skipped,
        seconds=time.monotonic() - started,
        start_offsets=start,
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until-idle", type=float, default=None, help="stop after this many idle seconds")
    args = parser.parse_args()
    print(run_alerts(Settings.from_env(), until_idle_s=args.until_idle))
