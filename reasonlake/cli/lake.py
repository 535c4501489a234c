"""The lake: read-only `audit` SQL, `maintain`, `dbt` and its `docs`."""

from __future__ import annotations

import sys

import click

from reasonlake.cli.group import PORT, cli, require_free_port, settings_of


@cli.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def audit(ctx: click.Context, sql: str, fmt: str) -> None:
    """Read-only SQL (DuckDB) over every Iceberg table, addressed as namespace.table."""
    from lake.audit import format_result, run_audit

    click.echo(format_result(run_audit(settings_of(ctx), sql), fmt))  # type: ignore[arg-type]


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
    from dagster_project.maintenance.resources import MaintenanceOptions, maintain_home
    from lake import catalog
    from lake.maintenance import STREAMED_TABLES

    settings = settings_of(ctx)
    options = MaintenanceOptions(expire_older_than, retain_last, target_file_mb, raw_retention_days)
    outcome = maintain_home(settings, catalog.load(settings), STREAMED_TABLES, options, leftovers=True)
    click.echo("\n".join(outcome.lines()))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def dbt(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Any dbt command on this home's lake, e.g. `reasonlake dbt -- build -s marts` (the home's settings
    are passed to dbt as --vars)."""
    from dagster_project.cleaning.resources import prepare, run_dbt

    settings = settings_of(ctx)
    prepare(settings)
    sys.exit(run_dbt(settings, list(args), check=False, capture=False).returncode)


@cli.command()
@click.option("--port", type=PORT, default=8080, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True)
@click.pass_context
def docs(ctx: click.Context, port: int, serve: bool) -> None:
    """Generate the dbt docs (data lineage) and serve them."""
    from dagster_project.cleaning.resources import prepare, run_dbt

    if serve:
        require_free_port(port)
    settings = settings_of(ctx)
    prepare(settings)
    run_dbt(settings, ["docs", "generate"], capture=False)
    if serve:
        run_dbt(settings, ["docs", "serve", "--port", str(port), "--no-browser"], capture=False, check=False)
