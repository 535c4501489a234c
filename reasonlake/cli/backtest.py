"""`backtest`: past weeks' elections recomputed under another policy file, compared with the live policy's
(nothing refitted, nothing written; :mod:`reasons.election.backtest`, docs/backtest.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reasonlake.cli.group import cli, settings_of

if TYPE_CHECKING:
    from reasons.election.backtest import Backtest, ReasonChange, WeekDiff


@cli.command()
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The election policy YAML to try (same keys as reasons/election/policy.yaml).",
)
@click.option(
    "--weeks",
    default=None,
    metavar="A:B|WEEK",
    help="ISO weeks to recompute: a range 2026-W40:2026-W48 (both included) or one week "
    "[default: every week in ml.elections].",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def backtest(ctx: click.Context, policy_file: Path, weeks: str | None, fmt: str) -> None:
    """Recompute past weeks' elections from their stored topics and message assignments under --policy and
    under the live policy (REASONLAKE_POLICY_FILE, else the shipped one), and print the differences: reasons
    gained, dropped, rank changes, and the alerts that would have differed on the following week."""
    from lake import catalog as lake_catalog
    from reasons.election.backtest import elected_weeks, run_backtest, select_weeks
    from reasons.election.policy import load_policy

    settings = settings_of(ctx)
    new = load_policy(policy_file)[0]  # an invalid file: PolicyError, one line, exit 3
    live = load_policy(settings.policy_file)[0]  # what the weekly graph elects with (dagster_project/resources.py)
    cat = lake_catalog.load(settings)
    try:
        chosen = select_weeks(weeks, elected_weeks(cat))
    except ValueError as exc:  # a malformed week or a backwards range (BacktestError is no ValueError)
        raise click.BadParameter(str(exc), param_hint="--weeks") from None
    result = run_backtest(cat, chosen, live, new)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"policy {new.policy_version} ({policy_file}) against the live policy {live.policy_version}")
    for week in result.weeks:
        for line in week_lines(week):
            click.echo(line)
    click.echo(summary_line(result))


def week_lines(week: WeekDiff) -> list[str]:
    """One week's differences, a line each (``  no difference`` when none)."""
    head = f"{week.week} (model {week.model_version})"
    if week.stored_mismatch:
        head += (
            f" — note: stored election (policy {week.stored_policy_version}) differs from the live policy's "
            f"on {', '.join(week.stored_mismatch)}"
        )
    lines = [head]
    lines += [f"  + elected {_reason(c)}: rank {c.new_rank}{_alerts(c, week, '+')}" for c in week.gained]
    lines += [f"  - dropped {_reason(c)}: was rank {c.live_rank}{_alerts(c, week, '-')}" for c in week.dropped]
    lines += [f"  ~ rank    {_reason(c)}: {c.live_rank} -> {c.new_rank}" for c in week.rank_changes]
    if not week.changed:
        lines.append("  no difference")
    elif week.following_week is None:
        lines.append(f"  would-be alerts: not counted ({week.week}'s following week has no stored assignments)")
    return lines


def _reason(c: ReasonChange) -> str:
    return f"{c.label!r} ({c.reason_id})"


def _alerts(c: ReasonChange, week: WeekDiff, sign: str) -> str:
    out = "" if c.alerts is None else f"; {sign}{c.alerts} would-be alerts in {week.following_week}"
    if c.recorded:
        out += f"; {c.recorded} recorded in alerts.alerts"
    return out


def summary_line(result: Backtest) -> str:
    s = result.summary()
    line = (
        f"summary: {s['weeks']} week(s), {s['weeks_changed']} changed: {s['gained']} reason(s) gained, "
        f"{s['dropped']} dropped, {s['rank_changes']} rank change(s); would-be alerts on the following weeks' "
        f"stored messages +{s['alerts_gained']} -{s['alerts_lost']}; {s['recorded_on_dropped']} recorded alert(s) "
        "on dropped reasons"
    )
    if s["weeks_stored_differently"]:
        line += f"; {s['weeks_stored_differently']} week(s) were stored under another policy"
    return line
