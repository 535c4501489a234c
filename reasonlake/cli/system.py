"""The home's services: `up`, `run`, `down`, `destroy`, `status`."""

from __future__ import annotations

import sys

import click

from reasonlake.cli.group import PORT, cli, require_free_port, settings_of


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

    settings = settings_of(ctx)
    if settings.bootstrap_servers:
        click.echo(f"external Kafka configured ({settings.bootstrap_servers}): nothing to start", err=True)
    else:
        info = broker.start(settings)
        message = f"broker up at {info.bootstrap} (pid {info.pid}, storage {info.storage}, home {settings.home})"
        if info.intake:
            message += f"; producers send to its intake at {info.intake}"
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

    settings = settings_of(ctx)
    if ui and supervisor.read_state(settings) is None:
        require_free_port(port)
    if not settings.bootstrap_servers:
        info = broker.start(settings)
        click.echo(f"broker up at {info.bootstrap}" + (f", producers send to {info.intake}" if info.intake else ""))
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

    settings = settings_of(ctx)
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

    settings = settings_of(ctx)
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
    """Print the broker's bootstrap address as host:port (exit 1 when it is down) and its intake's, where
    platforms send, then the services of `reasonlake run` when they run (pid, up since, restarts, last
    progress)."""
    from services import broker

    settings = settings_of(ctx)
    if settings.bootstrap_servers:
        click.echo(settings.bootstrap_servers)
        return
    info = broker.status(settings)
    if info is None:
        click.echo("down", err=True)
        sys.exit(1)
    click.echo(info.bootstrap)
    if info.intake:
        metrics = broker.intake_metrics_port_file(settings)
        host = info.intake.rpartition(":")[0]
        scrape = f"; metrics at http://{host}:{metrics.read_text()}/metrics" if metrics.exists() else ""
        click.echo(f"intake {info.intake} (where platforms send and consumers read{scrape})")
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
