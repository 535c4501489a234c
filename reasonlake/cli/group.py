"""The ``reasonlake`` group (its global options: ``--home``, ``--bootstrap-servers``, ``--debug``) and what every
command module of this package shares."""

from __future__ import annotations

from pathlib import Path

import click

from lake.settings import Settings
from reasonlake import errors

PORT = click.IntRange(1, 65535)  # a TCP port of a server the CLI starts


def settings_of(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def require_free_port(port: int, host: str = "127.0.0.1") -> None:
    """Fail in one line (exit 4) before starting a server on a port something else holds."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise errors.ServiceUnavailable(
                f"port {port} on {host} is not free ({exc.strerror}): choose another with --port"
            ) from None


def step(message: str) -> None:
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
