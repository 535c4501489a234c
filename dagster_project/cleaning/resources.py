"""The dbt resource of the cleaning domain.

``DbtCliResource`` runs the venv's ``dbt`` (``Path(sys.executable).parent / "dbt"``: dagster-dbt
would otherwise look for ``dbt`` on PATH) in ``dbt/`` with ``dbt/profiles.yml``. The profile's
values come from :class:`lake.settings.Settings` through the environment
(:func:`dagster_project.cleaning.dbt_runner.dbt_env`); the asset sets them around each dbt start
from the shared ``reasonlake`` resource, so the home has one source of truth.
"""

from __future__ import annotations

from dagster_dbt import DbtCliResource, DbtProject

from dagster_project.cleaning.dbt_runner import DBT_PROJECT_DIR, dbt_cli_args_env, dbt_env, dbt_executable

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def build_dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())


__all__ = ["DBT_PROJECT", "build_dbt_resource", "dbt_cli_args_env", "dbt_env"]
