"""Run reasonlake's dbt project (``dbt/``) with the environment derived from :class:`Settings`.

Pure module (no Dagster): the Dagster resource (``cleaning/resources.py``) and the CLI both use it.

``dbt/profiles.yml`` hard-codes nothing; it reads two variables that :func:`dbt_env` derives from
the settings:

* ``REASONLAKE_DBT_DUCKDB_PATH``: ``Settings.duckdb_path`` (``<home>/dbt/reasonlake.duckdb``);
* ``REASONLAKE_DBT_ICEBERG_CONFIG``: JSON ``{"catalog": "reasonlake", **Settings.catalog_properties()}``,
  the config of dbt-duckdb's built-in ``iceberg`` plugin (``pyiceberg.catalog.load_catalog``).

By hand: ``eval "$(python -m dagster_project.cleaning.dbt_runner env)"; cd dbt; dbt build``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from lake import catalog as lake_catalog
from lake.schemas import RAW_FEEDBACK, RAW_FEEDBACK_REJECTED
from lake.settings import CATALOG_NAME, Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = DBT_TARGET_DIR / "manifest.json"

DUCKDB_PATH_VAR = "REASONLAKE_DBT_DUCKDB_PATH"
ICEBERG_CONFIG_VAR = "REASONLAKE_DBT_ICEBERG_CONFIG"

# The Iceberg tables the dbt project reads as sources (schema "raw" in the DuckDB file).
SOURCE_TABLES = (RAW_FEEDBACK.identifier, RAW_FEEDBACK_REJECTED.identifier)


class DbtRunError(RuntimeError):
    """A dbt command exited non-zero; the message carries the tail of its output."""


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise FileNotFoundError(f"no dbt executable beside {sys.executable} nor on PATH")
    return found


def dbt_env(settings: Settings) -> dict[str, str]:
    """The variables ``dbt/profiles.yml`` reads, derived from ``settings`` (plus ``settings.to_env()``)."""
    # pyiceberg properties are strings; the profile reads the JSON back with ``as_native``
    # (a Python literal), so JSON true/false/null must not reach it.
    props = {k: v if isinstance(v, str) else json.dumps(v) for k, v in settings.catalog_properties().items()}
    config = {"catalog": CATALOG_NAME, **props}
    return {
        **settings.to_env(),
        DUCKDB_PATH_VAR: str(settings.duckdb_path),
        ICEBERG_CONFIG_VAR: json.dumps(config, sort_keys=True),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_cli_args_env(settings: Settings) -> tuple[str, Path, dict[str, str]]:
    """``(dbt executable, project dir, full environment)`` to run any dbt command by hand, after
    :func:`prepare` (so ``dbt docs generate`` works on a fresh home too)."""
    prepare(settings)
    return dbt_executable(), DBT_PROJECT_DIR, settings.child_env(**dbt_env(settings))


@contextmanager
def environment(settings: Settings) -> Iterator[dict[str, str]]:
    """Temporarily put :func:`dbt_env` into ``os.environ`` (for dagster-dbt, whose ``DbtCliResource``
    starts dbt with the current environment). Not thread-safe: one dbt start at a time."""
    values = dbt_env(settings)
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def prepare(settings: Settings) -> None:
    """Create what a dbt run needs: the DuckDB file's folder and the (possibly empty) source tables."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    catalog = lake_catalog.load(settings)
    for identifier in SOURCE_TABLES:
        lake_catalog.ensure_table(catalog, identifier)


def run_dbt(settings: Settings, args: Sequence[str], *, check: bool = True,
            extra_env: Mapping[str, str] | None = None, capture: bool = True) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` in the project directory with the settings' environment.

    Raises :class:`DbtRunError` on a non-zero exit when ``check``.
    """
    env = settings.child_env(**dbt_env(settings), **(extra_env or {}))
    proc = subprocess.run([dbt_executable(), *args], cwd=DBT_PROJECT_DIR, env=env, text=True,
                          capture_output=capture)
    if check and proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-40:])
        raise DbtRunError(f"dbt {' '.join(args)} exited {proc.returncode}:\n{tail}")
    return proc


def build(settings: Settings, args: Sequence[str] = (), *,
          extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``dbt build`` after :func:`prepare` (the CLI's entry point); raises :class:`DbtRunError`."""
    prepare(settings)
    return run_dbt(settings, ["build", *args], extra_env=extra_env)


def ensure_manifest(settings: Settings | None = None, *, force: bool = False) -> Path:
    """``dbt/target/manifest.json``, produced with ``dbt parse`` when missing (fresh clone) or ``force``.

    Offline; opens no database and touches no home (parsing only renders the profile), so any
    settings do: defaults to ``Settings.from_env()`` so that later runs with the same environment
    can parse partially. Safe under concurrent callers: parses into a private folder, then moves
    the manifest (and dbt's partial-parse state) into place atomically.
    """
    if MANIFEST_PATH.exists() and not force:
        return MANIFEST_PATH
    DBT_TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=DBT_TARGET_DIR) as private:
        run_dbt(settings or Settings.from_env(), ["parse", "--quiet"],
                extra_env={"DBT_TARGET_PATH": private, "DBT_LOG_PATH": private})
        partial = Path(private) / "partial_parse.msgpack"
        if partial.exists():
            os.replace(partial, DBT_TARGET_DIR / partial.name)
        os.replace(Path(private) / "manifest.json", MANIFEST_PATH)
    return MANIFEST_PATH


def _print_env(settings: Settings) -> None:
    import shlex

    for key, value in dbt_env(settings).items():
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":  # python -m dagster_project.cleaning.dbt_runner env
    if sys.argv[1:] != ["env"]:
        sys.exit("usage: python -m dagster_project.cleaning.dbt_runner env")
    _print_env(Settings.from_env())
