"""Serving and tools: the classify API (`serve`), `feast`, the Dagster `ui`, the end-to-end `demo`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reasonlake import REPO_ROOT
from reasonlake.cli.group import PORT, cli, require_free_port, settings_of, step


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

    require_free_port(port, host)
    uvicorn.run(create_app(settings_of(ctx), reload_interval_s=reload_interval), host=host, port=port)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def feast(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Any feast command in feature_repo/ on this home's registry and online store, e.g.
    `reasonlake feast -- feature-views list` or `reasonlake feast -- serve -p 6566`."""
    import subprocess

    from feature_repo.config import FEATURE_STORE_YAML, feast_variables

    settings = settings_of(ctx)
    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    env = settings.child_env(**feast_variables(settings))
    exe = str(Path(sys.executable).parent / "feast")
    sys.exit(subprocess.run([exe, *args], cwd=FEATURE_STORE_YAML.parent, env=env).returncode)


@cli.command()
@click.option("--port", type=PORT, default=3000, show_default=True)
@click.pass_context
def ui(ctx: click.Context, port: int) -> None:
    """Start the Dagster UI on this project (workspace.yaml)."""
    from reasonlake.weekly import dagster_home

    require_free_port(port)
    settings = settings_of(ctx)
    env = settings.child_env(DAGSTER_HOME=str(dagster_home(settings)))
    os.chdir(REPO_ROOT)
    os.execvpe(
        str(Path(sys.executable).parent / "dagster"), ["dagster", "dev", "-w", "workspace.yaml", "-p", str(port)], env
    )


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
        settings_of(ctx), messages=messages, weeks=weeks, seed=seed, incoming=incoming, echo=step, keep_up=keep_up
    )
    sys.exit(0 if report.ok else 1)
