"""The reason registry: `reasons list`, the analyst's edits (`merge`, `split`, `rename`, `not-a-reason`, each
recorded in ml.reason_edits with who, when and why) and `reasons history` (docs/reason_edits.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from reasonlake import errors
from reasonlake.cli.group import cli, settings_of


class BadEdit(click.ClickException):
    """An edit that cannot be made: one line, exit 2 (a wrong argument)."""

    exit_code = errors.USAGE

    def format_message(self) -> str:
        return f"reason edit: {self.message}"


class NoRegistry(click.ClickException):
    """No weekly run has written the registry yet: exit 5 (the data is not there yet)."""

    exit_code = errors.DATA


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def _edit_options(command):
    command = click.option("--by", default=None, help="Who makes the edit [default: the OS user].")(command)
    return click.option("--why", default=None, help="Why (required; kept with the edit).")(command)


@cli.group()
def reasons() -> None:
    """The reason registry: list it, edit it (merge, split, rename, not-a-reason; each edit is kept in
    ml.reason_edits with who, when and why, and applied to the week it was made in, when replayed, and to
    every later week), and its history."""


def _current(settings):
    """The latest week, the registry as it stands (its snapshot with the edits in force), and the edits."""
    from lake.weeks import shift_week
    from reasons.registry.edits import current
    from reasons.weekly.reason_edits import latest_week, read_edits
    from reasons.weekly.reason_ids import registry_before

    latest = latest_week(settings)
    if latest is None:
        raise NoRegistry("no reason registry yet: run `reasonlake weekly` first")
    _, snapshot = registry_before(settings, shift_week(latest, 1))
    edits = read_edits(settings)
    return latest, current(snapshot, edits, latest), edits


def _record(ctx: click.Context, action: str, reason_id: str, why: str | None, by: str | None, **fields) -> None:
    """Check the edit against the current registry, append it to ml.reason_edits and say what it does."""
    import uuid

    from reasonlake.weekly import report_edit
    from reasons.registry.edits import SPLIT, Edit, ReasonEditError, check
    from reasons.weekly.reason_edits import reason_topics, record_edit

    if not (why or "").strip():
        raise BadEdit("--why is required: say why, it is kept with the edit")
    settings = settings_of(ctx)
    latest, registry, _ = _current(settings)
    edit = Edit(
        edit_id=uuid.uuid4().hex[:12],
        week=latest,
        action=action,
        reason_id=reason_id,
        made_by=(by or _user()).strip(),
        made_at=datetime.now(UTC),
        why=(why or "").strip(),
        **fields,
    )
    try:
        topics = reason_topics(settings, latest, reason_id) if action == SPLIT else ()
        edit = check(edit, registry, topics)
    except ReasonEditError as exc:
        raise BadEdit(str(exc)) from None
    record_edit(settings, edit)
    report_edit(settings, edit)  # shown in the Dagster UI on ml/reason_events at once
    click.echo(f"recorded {edit.describe()}")
    click.echo(
        f"in force from {latest} on: the next weekly run applies it, and so does `reasonlake weekly --week {latest}`"
    )


@reasons.command("list")
@click.option("--status", default=None, help="Only reasons of this status (alive, dead, merged, not_a_reason).")
@click.pass_context
def list_reasons(ctx: click.Context, status: str | None) -> None:
    """The current registry: id, label, status, last seen week, size (messages that week), the edits
    recorded since the latest run included."""
    latest, registry, _ = _current(settings_of(ctx))
    rows = [r for r in registry if status is None or r.status == status]
    click.echo(f"the registry after {latest}, with the edits in force ({len(rows)} reasons)")
    width = max((len(r.reason_id) for r in rows), default=6)
    click.echo(f"{'id':<{width}}  {'status':<12}  {'last seen':<9}  {'size':>6}  label")
    for r in rows:
        click.echo(f"{r.reason_id:<{width}}  {r.status:<12}  {r.last_seen_week:<9}  {r.size:>6}  {r.label}")


@reasons.command()
@click.argument("into")
@click.argument("others", nargs=-1, required=True)
@_edit_options
@click.pass_context
def merge(ctx: click.Context, into: str, others: tuple[str, ...], why: str | None, by: str | None) -> None:
    """Fold OTHERS into INTO: their topics count as INTO's from the latest week on
    (`reasonlake reasons merge R0003 R0007 --why "same complaint"`)."""
    from reasons.registry.edits import MERGE

    _record(ctx, MERGE, into, why, by, other_ids=others)


def _topic_ids(_ctx, _param, value: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in (value or "").replace(" ", "").split(",") if v)
    except ValueError:
        raise click.BadParameter(f"{value!r}: topic ids separated by commas, e.g. 4,7") from None


@reasons.command()
@click.argument("reason_id")
@click.option(
    "--topics",
    "topic_ids",
    callback=_topic_ids,
    required=True,
    help="The latest week's topics of REASON_ID that go to the new reason, e.g. 4,7 (`reasons history` and the "
    "Dagster UI's ml/reasons mapping show them).",
)
@click.option("--label", default=None, help="The new reason's label [default: its largest topic's].")
@_edit_options
@click.pass_context
def split(
    ctx: click.Context, reason_id: str, topic_ids: tuple[int, ...], label: str | None, why: str | None, by: str | None
) -> None:
    """Split REASON_ID: the given topics of the latest week become a new reason (<REASON_ID>.<n>); in later
    weeks each topic of the two goes to the one whose centroid is nearer."""
    from reasons.registry.edits import SPLIT

    _record(ctx, SPLIT, reason_id, why, by, topic_ids=topic_ids, label=label)


@reasons.command()
@click.argument("reason_id")
@click.argument("label")
@_edit_options
@click.pass_context
def rename(ctx: click.Context, reason_id: str, label: str, why: str | None, by: str | None) -> None:
    """Name REASON_ID LABEL, whatever its topics' words (wins over reasons/reason_labels.yaml)."""
    from reasons.registry.edits import RENAME

    _record(ctx, RENAME, reason_id, why, by, label=label.strip())


@reasons.command("not-a-reason")
@click.argument("reason_id")
@_edit_options
@click.pass_context
def not_a_reason(ctx: click.Context, reason_id: str, why: str | None, by: str | None) -> None:
    """Mark REASON_ID as no reason to be unhappy: its topics map to not_a_reason and are never elected."""
    from reasons.registry.edits import NOT_A_REASON

    _record(ctx, NOT_A_REASON, reason_id, why, by)


@reasons.command()
@click.argument("reason_id", required=False)
@click.pass_context
def history(ctx: click.Context, reason_id: str | None) -> None:
    """The edits (who, when, why) and the registry's events of each week: REASON_ID's all, or, without it,
    every edit and every event but the weekly matches."""
    from lake import catalog as lake_catalog
    from lake.schemas import ML_REASON_EVENTS
    from lake.weeks import parse_week
    from reasons.weekly.reason_edits import read_edits

    settings = settings_of(ctx)
    edits = [e for e in read_edits(settings) if reason_id is None or reason_id in (e.reason_id, *e.other_ids)]
    click.echo(f"edits ({len(edits)})")
    for e in edits:
        made = e.made_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if e.made_at else "?"
        click.echo(f"  {made}  in force from {e.week}  {e.describe()}")
    rows = lake_catalog.read(lake_catalog.load(settings), ML_REASON_EVENTS.identifier).to_pylist()
    events = sorted(
        (r for r in rows if (reason_id in r["reason_ids"] if reason_id else r["event"] != "matched")),
        key=lambda r: (parse_week(r["week"]), r["recorded_at"]),
    )
    click.echo(f"registry events ({len(events)})")
    for r in events:
        click.echo(f"  {r['week']}  {r['event']:<12}  {', '.join(r['reason_ids']):<16}  {r['detail']}")
