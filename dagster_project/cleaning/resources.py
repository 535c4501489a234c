"""The dbt resource of the cleaning domain, and running dbt outside Dagster (the CLI).

dbt gets its configuration explicitly, as ``--vars`` on every command (:func:`dbt_vars`), never
through the environment: ``dbt/profiles.yml`` reads two variables,

* ``reasonlake_duckdb_path``: ``Settings.duckdb_path`` (``<home>/dbt/reasonlake.duckdb``);
* ``reasonlake_iceberg``: ``{"catalog": "reasonlake", **Settings.catalog_properties()}``, the config
  of dbt-duckdb's ``iceberg`` plugin (``pyiceberg.catalog.load_catalog``), its secret properties
  replaced by a file only the owner reads (:func:`dbt_vars`).

``DbtCliResource`` runs the venv's ``dbt`` (dagster-dbt would otherwise look for ``dbt`` on PATH).
The manifest is parsed once at set-up (``make setup``) and again by ``dagster dev`` on every load;
by hand: ``reasonlake dbt -- build`` (any dbt command, with the home's vars).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import jinja2
import pandas as pd
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from lake import catalog as lake_catalog
from lake.schemas import RAW_FEEDBACK, RAW_FEEDBACK_REJECTED
from lake.settings import CATALOG_NAME, Settings
from lake.weeks import week_bounds

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"

# The Iceberg tables the dbt project reads as sources (schema "raw" in the DuckDB file).
SOURCE_TABLES = (RAW_FEEDBACK.identifier, RAW_FEEDBACK_REJECTED.identifier)


class DbtRunError(RuntimeError):
    """A dbt command exited non-zero; the message carries the tail of its output."""


class ManifestMissingError(FileNotFoundError):
    """``dbt/target/manifest.json`` is missing: ``make setup`` parses the dbt project."""


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise FileNotFoundError(f"no dbt executable beside {sys.executable} nor on PATH")
    return found


class VenvDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that knows the venv's dbt version without running it. dagster-dbt otherwise runs
    ``dbt --version`` once per resource instance, that is once per Dagster run: a 5-7 s process (it
    imports dbt, then asks PyPI for the newest release). The venv's ``dbt`` is this interpreter's
    dbt-core package; another executable is still asked."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            from dbt.version import __version__

            return version.parse(__version__)
        return super()._cli_version


def build_dbt_resource() -> DbtCliResource:
    return VenvDbtCliResource(
        project_dir=str(DBT_PROJECT.project_dir),
        profiles_dir=str(DBT_PROJECT.profiles_dir),
        dbt_executable=dbt_executable(),
    )


_SECRET_WORDS = ("secret", "password", "token", "credential")


def split_secrets(properties: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Catalog properties split into (public, secret): a secret's name holds one of ``_SECRET_WORDS``
    (``s3.secret-access-key``, ``token``, ...), or it is a URI with a password (``postgresql://u:pw@h``)."""
    public: dict[str, str] = {}
    secret: dict[str, str] = {}
    for key, value in properties.items():
        hidden = any(word in key.lower() for word in _SECRET_WORDS) or _has_password(value)
        (secret if hidden else public)[key] = value
    return public, secret


def _has_password(value: str) -> bool:
    try:
        return "://" in value and urlsplit(value).password is not None
    except ValueError:
        return False


def secrets_path(settings: Settings) -> Path:
    return settings.home / "dbt" / "catalog-secrets.json"


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """What ``dbt/profiles.yml`` reads, derived from ``settings``. The catalog's secret properties are
    not among them (dbt's command line is logged): they go to a file only the owner reads
    (:func:`secrets_path`), which the profile's iceberg plugin reads (``reasonlake/dbt_iceberg.py``)."""
    public, secret = split_secrets(settings.catalog_properties())
    if secret:
        path = secrets_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(secret, sort_keys=True))
        public["secrets_file"] = str(path)
    return {
        "reasonlake_duckdb_path": str(settings.duckdb_path),
        "reasonlake_iceberg": {"catalog": CATALOG_NAME, **public},
    }


def vars_args(settings: Settings, **extra: Any) -> list[str]:
    """``--vars <json>`` for a dbt command: the profile's variables plus ``extra`` project vars."""
    return ["--vars", json.dumps({**dbt_vars(settings), **extra}, sort_keys=True)]


def week_vars(week: str) -> dict[str, str]:
    """The project vars of one week's incremental build: the week, and the pyiceberg row filter that
    scans only its days of ``raw.feedback`` (``_raw__sources.yml``)."""
    start, end = week_bounds(week)
    return {
        "reasonlake_week": week,
        "reasonlake_raw_filter": f"created_at >= '{start.isoformat()}' and created_at < '{end.isoformat()}'",
    }


def prepare(settings: Settings) -> None:
    """Create what a dbt run needs: the DuckDB file's folder and the (possibly empty) source tables."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    catalog = lake_catalog.load(settings)
    for identifier in SOURCE_TABLES:
        lake_catalog.ensure_table(catalog, identifier)


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``dbt <args> --vars ...`` in the project directory; raises :class:`DbtRunError` on failure
    when ``check``. ``env`` adds dbt's own switches (``DBT_TARGET_PATH``, ...)."""
    child = settings.child_env(DBT_SEND_ANONYMOUS_USAGE_STATS="false", **(env or {}))
    proc = subprocess.run(
        [dbt_executable(), *args, *vars_args(settings)],
        cwd=DBT_PROJECT_DIR,
        env=child,
        text=True,
        capture_output=capture,
    )
    if check and proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-40:])
        raise DbtRunError(f"dbt {' '.join(args)} exited {proc.returncode}:\n{tail}")
    return proc


def parse_manifest() -> Path:
    """``dbt parse`` into ``dbt/target/manifest.json`` (offline; opens no database and touches no home,
    so a throw-away home renders the profile). Safe under concurrent callers: parses into a private
    folder, then moves the manifest (and dbt's partial-parse state) into place atomically."""
    target = MANIFEST_PATH.parent
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as private:
        placeholder = Settings(home=Path(private) / "home")
        run_dbt(placeholder, ["parse", "--quiet"], env={"DBT_TARGET_PATH": private, "DBT_LOG_PATH": private})
        partial = Path(private) / "partial_parse.msgpack"
        if partial.exists():
            os.replace(partial, target / partial.name)
        os.replace(Path(private) / "manifest.json", MANIFEST_PATH)
    return MANIFEST_PATH


def manifest_path() -> Path:
    """The parsed manifest; :class:`ManifestMissingError` when set-up has not parsed the project."""
    if not MANIFEST_PATH.exists():
        raise ManifestMissingError(f"{MANIFEST_PATH} is missing: run `make setup` (it parses the dbt project)")
    return MANIFEST_PATH


if __name__ == "__main__":  # python -m dagster_project.cleaning.resources parse (make setup)
    if sys.argv[1:] != ["parse"]:
        sys.exit("usage: python -m dagster_project.cleaning.resources parse")
    print(f"[setup] dbt manifest: {parse_manifest()}")


TEXT_CLEANING_MACROS = DBT_PROJECT_DIR / "macros" / "text_cleaning.sql"


def cleaned_texts(texts: Sequence[str]) -> pd.DataFrame:
    """What the staging model derives from each (already redacted) text, for text read outside the lake
    (``bench/quality.py``'s corpora): ``text_modelling`` (what keywords and labels read) and ``mentions``
    (the @handles, a list). Computed by the model's own macros (``dbt/macros/text_cleaning.sql``, rendered
    by Jinja as dbt renders them) in DuckDB, the engine dbt-duckdb runs them on; one row per text, in order."""
    macros = jinja2.Environment(autoescape=False).from_string(TEXT_CLEANING_MACROS.read_text()).module
    frame = pd.DataFrame({"row": range(len(texts)), "text": [str(t) for t in texts]})
    query = (
        f"select {macros.modelling_text('text')} as text_modelling, {macros.mentions('text')} as mentions "  # type: ignore[attr-defined]
        "from frame order by row"
    )
    with duckdb.connect() as con:
        con.register("frame", frame)
        out = con.execute(query).df()
    out["mentions"] = out["mentions"].map(list)
    return out
