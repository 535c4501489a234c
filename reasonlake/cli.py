"""The ``reasonlake`` command line: services, producing, the two jobs, the weekly graph, audits,
and the end-to-end demo. Heavy imports happen inside each command so ``--help`` stays fast."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lake.settings import Settings
from reasonlake import errors

REPO_ROOT = Path(__file__).resolve().parent.parent
PORT = click.IntRange(1, 65535)  # a TCP port of a server the CLI starts


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _require_free_port(port: int, host: str = "127.0.0.1") -> None:
    """Fail in one line (exit 4) before starting a server on a port something else holds."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise errors.ServiceUnavailable(
                f"port {port} on {host} is not free ({exc.strerror}): choose another with --port"
            ) from None


def _step(message: str) -> None:
    click.secho(f"==> {message}", fg="cyan", bold=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory for all state [env REASONLAKE_HOME, default ./.reasonlake].",
)
@click.option(
    "--bootstrap-servers",
    default=None,
    help="Use an external Kafka (host:port,...) instead of the embedded broker [env REASONLAKE_BOOTSTRAP_SERVERS].",
)
@click.option("--debug", is_flag=True, help="On a failure, show the Python traceback instead of one line.")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, bootstrap_servers: str | None, debug: bool) -> None:
    """reasonlake: the top reasons customers are unhappy, weekly, and alerts when a new message
    matches one. Every command works on one data directory (--home)."""
    # an invalid setting raises SettingsError: one line, exit 3 (reasonlake.errors)
    settings = Settings.from_env(home=home.absolute() if home else None, bootstrap_servers=bootstrap_servers)
    if ctx.invoked_subcommand != "destroy":
        settings.ensure_dirs()
    ctx.obj = {"settings": settings}


# ---- services ------------------------------------------------------------------------------
@cli.command()
@click.option(
    "--profile",
    type=click.Choice(["embedded", "cluster"]),
    default="embedded",
    show_default=True,
    help="cluster: also a standalone Flink cluster (two TaskManagers), PostgreSQL, Redis and an S3 warehouse.",
)
@click.pass_context
def up(ctx: click.Context, profile: str) -> None:
    """Start the embedded services (the Tansu Kafka broker) in the background; idempotent. With
    `--profile cluster`, also the scale-out engines under the home, and print the settings that use
    them as `export` lines: `eval "$(reasonlake up --profile cluster)"`."""
    from services import broker

    settings = _settings(ctx)
    if settings.bootstrap_servers:
        click.echo(f"external Kafka configured ({settings.bootstrap_servers}): nothing to start", err=True)
    else:
        info = broker.start(settings)
        message = f"broker up at {info.bootstrap} (pid {info.pid}, storage {info.storage}, home {settings.home})"
        click.echo(message, err=profile == "cluster")
    if profile == "cluster":
        import shlex

        from services import profile as cluster_profile

        scaled = cluster_profile.start(settings)
        click.echo(f"Flink cluster at {scaled.flink_address}, PostgreSQL, Redis and S3 warehouse up", err=True)
        before, after = settings.to_env(), scaled.to_env()
        for name, value in after.items():
            if before[name] != value:
                click.echo(f"export {name}={shlex.quote(value)}")
        click.echo(f"export REASONLAKE_HOME={shlex.quote(str(settings.home.absolute()))}")


@cli.command()
@click.option("--ui/--no-ui", default=True, show_default=True, help="Also serve the Dagster UI.")
@click.option("--port", type=PORT, default=3000, show_default=True, help="The Dagster UI's port.")
@click.pass_context
def run(ctx: click.Context, ui: bool, port: int) -> None:
    """Start the whole living system in the background: the broker, the ingest and alert jobs, the
    Dagster daemon (schedules, sensors) and UI, supervised (a crashed service is restarted); idempotent.
    `reasonlake status` shows them, `reasonlake down` stops everything."""
    from reasonlake import system
    from services import broker, supervisor

    settings = _settings(ctx)
    if ui and supervisor.read_state(settings) is None:
        _require_free_port(port)
    if not settings.bootstrap_servers:
        info = broker.start(settings)
        click.echo(f"broker up at {info.bootstrap}")
    state = supervisor.launch(settings, system.specs(settings, port if ui else None))
    click.echo("\n".join(system.describe(settings, state)))
    if ui:
        click.echo(f"Dagster UI: http://127.0.0.1:{port}")


@cli.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the services of `reasonlake run`, the embedded broker and the scale-out engines of
    `up --profile cluster`; idempotent."""
    from services import broker, profile, supervisor

    settings = _settings(ctx)
    if supervisor.shutdown(settings):
        click.echo("services stopped")
    stopped = broker.stop(settings)
    click.echo("broker stopped" if stopped else "broker was not running")
    for name in profile.stop(settings):
        click.echo(f"{name} stopped")


@cli.command()
@click.option("--yes", is_flag=True, help="Really delete the home (nothing is deleted without it).")
@click.pass_context
def destroy(ctx: click.Context, yes: bool) -> None:
    """Delete this home: its Iceberg warehouse, Kafka backlog, models, online store and logs (services
    stopped first). Needs an explicit --home and --yes; nothing else in reasonlake deletes a home."""
    import shutil

    from services import broker

    settings = _settings(ctx)
    if ctx.parent is None or ctx.parent.params.get("home") is None:
        raise click.UsageError("name the home to delete explicitly: reasonlake --home H destroy --yes")
    if not yes:
        raise click.UsageError(f"this deletes {settings.home} and everything in it; add --yes to do it")
    if not settings.home.exists():
        click.echo(f"{settings.home} does not exist: nothing to delete")
        return
    broker.stop(settings)
    shutil.rmtree(settings.home)
    click.echo(f"deleted {settings.home}")


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Print the broker's bootstrap address as host:port (exit 1 when it is down), then the services of
    `reasonlake run` when they run (pid, up since, restarts, last progress)."""
    from services import broker

    settings = _settings(ctx)
    if settings.bootstrap_servers:
        click.echo(settings.bootstrap_servers)
        return
    info = broker.status(settings)
    if info is None:
        click.echo("down", err=True)
        sys.exit(1)
    click.echo(info.bootstrap)
    from reasonlake import system
    from services import supervisor

    state = supervisor.read_state(settings)
    if state is not None:  # the services of `reasonlake run`, with the jobs' consumer lag
        try:
            lag = system.consumer_lag(settings, info.bootstrap)
        except Exception as exc:
            click.echo(f"(consumer lag unknown: {type(exc).__name__}: {exc})", err=True)
            lag = None
        click.echo("\n".join(system.describe(settings, state, lag)))


# ---- produce -------------------------------------------------------------------------------
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

    settings = _settings(ctx)
    if (file_ is None) == (synthetic is None):
        raise click.UsageError("give exactly one of --file or --synthetic")
    bootstrap = broker.bootstrap_servers(settings)
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


# ---- jobs ----------------------------------------------------------------------------------
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
    help="Commit after this many records per subtask [default: 50000].",
)
@click.option(
    "--flush-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Commit at most SECONDS after the first pending record [default: 20].",
)
@click.pass_context
def ingest(ctx: click.Context, until_idle: float | None, batch_size: int | None, flush_interval: float | None) -> None:
    """Run the PyFlink ingestion job: Kafka feedback.* -> Iceberg raw.feedback / raw.feedback_rejected."""
    from dataclasses import replace

    from flink.ingest_job import run_ingest
    from flink.jobconfig import IngestJobConfig

    settings = _settings(ctx)
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
    default=64,
    show_default=True,
    help="Messages per micro-batch (one embedding call).",
)
@click.option(
    "--batch-ms",
    type=click.IntRange(min=1),
    default=50,
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

    settings = _settings(ctx)
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=PORT, default=8000, show_default=True)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the service checks for a newly promoted model and election.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, reload_interval: float) -> None:
    """The classify API: POST /classify, GET /reasons, GET /health (OpenAPI docs at /docs)."""
    import uvicorn

    from reasonlake.serve import create_app

    _require_free_port(port, host)
    uvicorn.run(create_app(_settings(ctx), reload_interval_s=reload_interval), host=host, port=port)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def feast(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Any feast command in feature_repo/ on this home's registry and online store, e.g.
    `reasonlake feast -- feature-views list` or `reasonlake feast -- serve -p 6566`."""
    import subprocess

    from feature_repo.config import FEATURE_STORE_YAML, feast_variables

    settings = _settings(ctx)
    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    env = settings.child_env(**feast_variables(settings))
    exe = str(Path(sys.executable).parent / "feast")
    sys.exit(subprocess.run([exe, *args], cwd=FEATURE_STORE_YAML.parent, env=env).returncode)


def _week(week: str | None) -> str:
    """The ``--week`` given (checked: ISO ``YYYY-Www``, else a usage error) or the last complete week."""
    from lake.weeks import last_complete_week, parse_week

    week = week or last_complete_week(datetime.now(UTC))
    try:
        parse_week(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    return week


@cli.command()
@click.option("--week", default=None, help="ISO week YYYY-Www of created_at [default: last complete week].")
@click.pass_context
def weekly(ctx: click.Context, week: str | None) -> None:
    """Materialize the weekly asset graph through Dagster for one ISO week:
    dbt cleaning -> topic fit -> message topics -> election -> Feast."""
    from reasonlake.weekly import materialize_week

    settings = _settings(ctx)
    week = _week(week)
    from dagster_project.partitions import first_week, weekly_partitions
    from lake.weeks import week_of, week_to_partition_key

    first = first_week(settings)
    keys = weekly_partitions(first).get_partition_keys()
    if week_to_partition_key(week) not in keys:
        last = week_of(datetime.fromisoformat(keys[-1])) if keys else "none yet"
        raise click.BadParameter(
            f"{week} is not a weekly partition: they run from {first} (REASONLAKE_FIRST_WEEK, else the first "
            f"week of the ingested data) to {last}, the last complete week",
            param_hint="--week",
        )
    _step(f"weekly graph for {week}")
    result = materialize_week(settings, week)
    if not result.success:  # one line saying which asset failed and why (the run's log has the rest)
        click.echo(f"reasonlake: weekly run: {result.summary()} (`reasonlake ui` shows the run)", err=True)
        sys.exit(errors.DATA)
    click.echo(result.summary())
    report = settings.reports_dir / f"{week}.html"
    if report.exists():
        click.echo(f"report: {report} (and {report.with_suffix('.md').name}; `reasonlake report --week {week}`)")


@cli.command()
@click.option("--week", default=None, help="ISO week YYYY-Www [default: last complete week].")
@click.pass_context
def report(ctx: click.Context, week: str | None) -> None:
    """Print a week's report (markdown): elected reasons, counts, change, examples, sources, charts;
    rewrites <home>/reports/<week>.md and .html."""
    from reasons.election.weekly_report import write_report
    from reasons.weekly.election import week_report

    settings = _settings(ctx)
    week = _week(week)
    built = week_report(settings, week)
    md, page = write_report(built, settings.reports_dir)
    click.echo(built.markdown)
    click.echo(f"\nreport: {page} and {md}")


@cli.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def audit(ctx: click.Context, sql: str, fmt: str) -> None:
    """Read-only SQL (DuckDB) over every Iceberg table, addressed as namespace.table."""
    from lake.audit import format_result, run_audit

    click.echo(format_result(run_audit(_settings(ctx), sql), fmt))  # type: ignore[arg-type]


@cli.command()
@click.option(
    "--expire-older-than",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="Expire snapshots older than DAYS (the newest --retain-last are always kept).",
)
@click.option(
    "--retain-last", type=click.IntRange(min=1), default=5, show_default=True, help="Snapshots always kept per table."
)
@click.option(
    "--target-file-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=64.0,
    show_default=True,
    help="Data files smaller than this are compacted (per partition, when there are 2 or more).",
)
@click.option(
    "--raw-retention-days",
    type=click.IntRange(min=1),
    default=None,
    help="Delete raw rows (the original texts) older than this many days "
    "[default: REASONLAKE_RAW_RETENTION_DAYS, else keep every row].",
)
@click.pass_context
def maintain(
    ctx: click.Context,
    expire_older_than: float,
    retain_last: int,
    target_file_mb: float,
    raw_retention_days: int | None,
) -> None:
    """Delete raw rows past their retention and the embedded broker's ingested records past its own
    (REASONLAKE_BROKER_RETENTION_DAYS, 7; sooner with a shorter raw retention), compact small files and
    expire old snapshots of raw.feedback, raw.feedback_rejected and alerts.alerts (the Kafka offsets in
    the table properties are kept)."""
    from datetime import timedelta

    from flink.checkpoints import prune_stopped
    from flink.sink import prune_ingested
    from lake import catalog
    from lake.maintenance import maintain as run_maintenance

    settings = _settings(ctx)
    days = raw_retention_days or settings.raw_retention_days
    lake = catalog.load(settings)
    reports = run_maintenance(
        lake,
        expire_older_than=timedelta(days=expire_older_than),
        retain_last=retain_last,
        target_file_mb=target_file_mb,
        retention=timedelta(days=days) if days else None,
    )
    for compaction, expiry, retained, orphans in reports:
        kept = f"{retained.rows_deleted} row(s) older than {days} days deleted; " if days else ""
        click.echo(
            f"{compaction.table}: {kept}{compaction.partitions_compacted} partition(s) compacted"
            + (f" ({compaction.partitions_deferred} busy, deferred)" if compaction.partitions_deferred else "")
            + ", data files "
            f"{compaction.files_before} -> {compaction.files_after}; snapshots "
            f"{expiry.snapshots_before} -> {expiry.snapshots_after}{' (busy, expiry deferred)' if expiry.deferred else ''}; "
            f"{orphans.files_deleted} unreferenced "
            f"file(s) deleted ({orphans.bytes_deleted / 1e6:.1f} MB)"
        )
    pruned = prune_ingested(settings, lake, days)  # the broker's copy of the texts, as old as allowed
    click.echo(
        f"broker: {pruned.skipped}"
        if pruned.skipped
        else f"broker: {pruned.batches_deleted} ingested record batch(es) older than {pruned.days} days deleted "
        f"({pruned.bytes_deleted / 1e6:.1f} MB)"
    )
    folders = prune_stopped(settings.checkpoints_uri)  # a killed ingest run's may hold its uncommitted batch
    click.echo(f"checkpoints: {folders} folder(s) of stopped Flink runs deleted")


@cli.command()
@click.option("--port", type=PORT, default=3000, show_default=True)
@click.pass_context
def ui(ctx: click.Context, port: int) -> None:
    """Start the Dagster UI on this project (workspace.yaml)."""
    from reasonlake.weekly import dagster_home

    _require_free_port(port)
    settings = _settings(ctx)
    env = settings.child_env(DAGSTER_HOME=str(dagster_home(settings)))
    os.chdir(REPO_ROOT)
    os.execvpe(
        str(Path(sys.executable).parent / "dagster"), ["dagster", "dev", "-w", "workspace.yaml", "-p", str(port)], env
    )


@cli.command()
@click.option("--port", type=PORT, default=8080, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True)
@click.pass_context
def docs(ctx: click.Context, port: int, serve: bool) -> None:
    """Generate the dbt docs (data lineage) and serve them."""
    from dagster_project.cleaning.resources import prepare, run_dbt

    if serve:
        _require_free_port(port)
    settings = _settings(ctx)
    prepare(settings)
    run_dbt(settings, ["docs", "generate"], capture=False)
    if serve:
        run_dbt(settings, ["docs", "serve", "--port", str(port), "--no-browser"], capture=False, check=False)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def dbt(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Any dbt command on this home's lake, e.g. `reasonlake dbt -- build -s marts` (the home's settings
    are passed to dbt as --vars)."""
    from dagster_project.cleaning.resources import prepare, run_dbt

    settings = _settings(ctx)
    prepare(settings)
    sys.exit(run_dbt(settings, list(args), check=False, capture=False).returncode)


@cli.command()
@click.option("--messages", type=click.IntRange(min=1), default=6000, show_default=True)
@click.option("--weeks", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--incoming",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Fresh messages produced after the election for the alert job.",
)
@click.option("--keep-up", is_flag=True, help="Leave the broker running afterwards.")
@click.pass_context
def demo(ctx: click.Context, messages: int, weeks: int, seed: int, incoming: int, keep_up: bool) -> None:
    """Everything in order on synthetic data: up, produce, ingest, weekly (every week), alerts, summary."""
    from reasonlake.demo import run_demo

    report = run_demo(
        _settings(ctx), messages=messages, weeks=weeks, seed=seed, incoming=incoming, echo=_step, keep_up=keep_up
    )
    sys.exit(0 if report.ok else 1)


def main() -> None:
    """The ``reasonlake`` command: a failure ends in one line and a documented exit code
    (:mod:`reasonlake.errors`); ``--debug`` shows the traceback instead."""
    from reasonlake.errors import run

    sys.exit(run(cli, sys.argv[1:]))


if __name__ == "__main__":
    main()
