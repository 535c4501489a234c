"""The weekly graph: `weekly` (one ISO week through Dagster) and its `report`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from reasonlake import errors
from reasonlake.cli.group import cli, settings_of, step


def week_or_last(week: str | None) -> str:
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

    settings = settings_of(ctx)
    week = week_or_last(week)
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
    step(f"weekly graph for {week}")
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

    settings = settings_of(ctx)
    week = week_or_last(week)
    built = week_report(settings, week)
    md, page = write_report(built, settings.reports_dir)
    click.echo(built.markdown)
    click.echo(f"\nreport: {page} and {md}")
