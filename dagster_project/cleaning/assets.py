"""The dbt models (and their tests, as asset checks) as Dagster assets.

Asset keys mirror storage: dbt sources are the Iceberg tables ``["raw", "feedback"]`` and
``["raw", "feedback_rejected"]`` (declared by the ingestion domain), models are
``[<schema>, <model>]`` of the DuckDB file, e.g. ``["marts", "fct_feedback_messages"]``.
"""

from typing import Any, Mapping

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.cleaning import dbt_runner
from dagster_project.cleaning.resources import DBT_PROJECT
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource

GROUP = "cleaning"


class ReasonlakeDbtTranslator(DagsterDbtTranslator):
    """Sources → ``[<source schema>, <table>]`` (= the Iceberg identifier), models → ``[<schema>, <model>]``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["alias"] or dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP


TRANSLATOR = ReasonlakeDbtTranslator(
    # Source deps carry no dbt table metadata: their keys are set above, not remapped by table name.
    settings=DagsterDbtTranslatorSettings(enable_source_metadata=False),
)

# A fresh clone has no dbt/target: parse (offline, ~5 s) at load time; `dagster dev` re-parses so
# model edits show up on reload.
MANIFEST_PATH = dbt_runner.ensure_manifest(force=using_dagster_dev())


# Weekly-partitioned so that the weekly job (one ISO week a run, dbt -> topic fit -> election)
# can hold them with the downstream weekly assets. The models are full-refresh tables over all of
# raw, so any partition rebuilds every week: idempotent (a backfill of N weeks rebuilds N times;
# materializing the latest week is enough).
@dbt_assets(manifest=MANIFEST_PATH, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            name="dbt_cleaning", partitions_def=weekly_partitions)
def dbt_cleaning(context: AssetExecutionContext, dbt: DbtCliResource, reasonlake: ReasonlakeResource):
    """``dbt build`` of the selected models: the raw Iceberg tables are read through pyiceberg, the
    models land in ``Settings.duckdb_path``; dbt tests run as asset checks."""
    settings = reasonlake.settings()
    dbt_runner.prepare(settings)
    with dbt_runner.environment(settings):  # dbt starts here, with the profile's variables
        invocation = dbt.cli(["build"], context=context)
    yield from invocation.stream()
