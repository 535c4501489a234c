"""The stream: `produce` feedback, the `ingest` and `alerts` Flink jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flink.defaults import ALERT_BATCH_MS, ALERT_BATCH_SIZE, INGEST_BATCH_ROWS, INGEST_FLUSH_S
from reasonlake.cli.group import cli, settings_of


@cli.command()
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), help="JSONL, one message a line.")
@click.option("--synthetic", type=click.IntRange(min=1), default=None, help="Generate N synthetic messages.")
@click.option("--weeks", type=click.IntRange(min=1), default=6, show_default=True, help="Synthetic: weeks of history.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--surge", default="app_crash", show_default=True, help="Synthetic: the issue that surges.")
@click.option(
    "--surge-week",
    type=int,
    default=-1,
    show_default=True,
    help="Synthetic: index of the week that surges (-1: the last).",
)
@click.option("--invalid-rate", type=click.FloatRange(0, 1), default=0.01, show_default=True)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the synthetic ground truth [default HOME/synthetic/ground_truth.json].",
)
@click.pass_context
def produce(ctx, file_, synthetic, weeks, seed, surge, surge_week, invalid_rate, truth) -> None:
    """Send messages to Kafka, each to feedback.<source>: from a JSONL file or synthetic."""
    from flink import kafka_io
    from reasonlake.synthetic import SyntheticSpec, generate, iter_jsonl
    from services import broker

    settings = settings_of(ctx)
    if (file_ is None) == (synthetic is None):
        raise click.UsageError("give exactly one of --file or --synthetic")
    bootstrap = broker.intake_servers(settings)
    if file_:
        n = kafka_io.produce(bootstrap, iter_jsonl(file_))
        click.echo(f"produced {n} records from {file_} to {bootstrap}")
        return
    records, ground_truth = generate(
        SyntheticSpec(
            messages=synthetic,
            weeks=weeks,
            seed=seed,
            surge_issue=surge,
            surge_week_index=surge_week,
            invalid_rate=invalid_rate,
        )
    )
    n = kafka_io.produce(bootstrap, ((r.topic, r.value) for r in records))
    truth = truth or settings.home / "synthetic" / "ground_truth.json"
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(ground_truth.to_json())
    click.echo(
        f"produced {n} records ({ground_truth.invalid} invalid, {ground_truth.duplicates} re-sent) "
        f"over weeks {ground_truth.weeks[0]}..{ground_truth.weeks[-1]}; "
        f"surge: {surge} in {ground_truth.surge['week']}; ground truth: {truth}"
    )


@cli.command()
@click.option(
    "--until-idle",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop once no new message arrived for SECONDS (default: run until stopped).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help=f"Commit after this many records per subtask [default: {INGEST_BATCH_ROWS}].",
)
@click.option(
    "--flush-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help=f"Commit at most SECONDS after the first pending record [default: {INGEST_FLUSH_S:g}].",
)
@click.pass_context
def ingest(ctx: click.Context, until_idle: float | None, batch_size: int | None, flush_interval: float | None) -> None:
    """Run the PyFlink ingestion job: Kafka feedback.* -> Iceberg raw.feedback / raw.feedback_rejected."""
    from dataclasses import replace

    from flink.ingest_job import run_ingest
    from flink.jobconfig import IngestJobConfig

    settings = settings_of(ctx)
    config = IngestJobConfig.from_settings(settings)
    chosen: dict[str, Any] = {"batch_size": batch_size, "flush_interval_s": flush_interval}
    config = replace(config, batch=replace(config.batch, **{k: v for k, v in chosen.items() if v is not None}))
    summary = run_ingest(settings, config, until_idle_s=until_idle)
    click.echo(f"ingest finished: {summary.describe()}")
    from lake.maintenance import RAW_TABLES
    from reasonlake.weekly import report_commits

    reported = report_commits(settings, RAW_TABLES)
    click.echo(f"{reported} ingest commit(s) reported to Dagster (raw/feedback, raw/feedback_rejected)")


@cli.command()
@click.option(
    "--until-idle",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop once no new message arrived for SECONDS (default: run until stopped).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=ALERT_BATCH_SIZE,
    show_default=True,
    help="Messages per micro-batch (one embedding call).",
)
@click.option(
    "--batch-ms",
    type=click.IntRange(min=1),
    default=ALERT_BATCH_MS,
    show_default=True,
    help="A micro-batch closes this many milliseconds after its first message.",
)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the job checks for a newly promoted model and election.",
)
@click.option(
    "--max-alerts-per-reason",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Per reason and window; the rest go into one digest alert when the window closes.",
)
@click.option(
    "--window",
    "window_s",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="The rate limit's window.",
)
@click.option(
    "--fetch-max-wait-ms",
    type=click.IntRange(min=1),
    default=None,
    help="The Kafka source's long-poll [default: 50, or Kafka's 500 on the embedded broker's s3 storage].",
)
@click.option("--fresh", is_flag=True, help="Ignore the job's saved state: start after what ingestion committed.")
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0),
    default=9464,
    show_default=True,
    help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0: a free port; taken: a free one, said).",
)
@click.option(
    "--wait-for-model",
    is_flag=True,
    help="Before the first weekly run, wait for a promoted model instead of failing (`reasonlake run` does).",
)
@click.pass_context
def alerts(
    ctx: click.Context,
    until_idle: float | None,
    batch_size: int,
    batch_ms: int,
    reload_interval: float,
    max_alerts_per_reason: int,
    window_s: float,
    fetch_max_wait_ms: int | None,
    fresh: bool,
    metrics_port: int,
    wait_for_model: bool,
) -> None:
    """Run the PyFlink alert job on the live (newest promoted) model and election; it reloads both by
    itself when a new week is promoted, and keeps its state across restarts."""
    from dataclasses import replace

    from flink.alert_job import run_alerts
    from flink.jobconfig import AlertHygiene, AlertJobConfig, BatchPolicy

    settings = settings_of(ctx)
    config = AlertJobConfig.from_settings(settings)
    config = replace(
        config,
        micro_batch=BatchPolicy(batch_size=batch_size, flush_interval_s=batch_ms / 1000),
        reload_interval_s=reload_interval,
        hygiene=AlertHygiene(max_alerts_per_reason=max_alerts_per_reason, window_s=window_s),
        fresh=fresh,
        source=replace(config.source, fetch_max_wait_ms=fetch_max_wait_ms or config.source.fetch_max_wait_ms),
    )

    if wait_for_model:
        from flink.alerting import wait_for_live_model

        wait_for_live_model(config, poll_s=10.0)
    summary = run_alerts(settings, config, until_idle_s=until_idle, metrics_port=metrics_port)  # no model: exit 5
    click.echo(f"alert job finished: {summary.describe()}")
    from lake.schemas import ALERTS
    from reasonlake.weekly import report_commits

    click.echo(
        f"{report_commits(settings, (ALERTS.identifier,))} alert-writer commit(s) reported to Dagster (alerts/alerts)"
    )
