"""The dbt models (and their tests, as asset checks) as Dagster assets.

Asset keys mirror storage: dbt sources are the Iceberg tables ``["raw", "feedback"]`` and
``["raw", "feedback_rejected"]`` (declared by the ingestion domain), models are
``[<schema>, <model>]`` of the DuckDB file, e.g. ``["marts", "fct_feedback_messages"]``.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Output,
    WeeklyPartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.cleaning.resources import (
    DBT_PROJECT,
    manifest_path,
    parse_manifest,
    prepare,
    vars_args,
    week_vars,
)
from dagster_project.partitions import ONE_WEEK_A_RUN
from dagster_project.resources import ReasonlakeResource
from lake.weeks import partition_key_to_week

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

# Parsed once by `make setup`; `dagster dev` re-parses on every load so model edits show up.
MANIFEST_PATH = parse_manifest() if using_dagster_dev() else manifest_path()


class CleaningConfig(Config):
    """Run config of the dbt build: ``full_refresh`` rebuilds every week from the whole raw table."""

    full_refresh: bool = False


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    """The dbt models as assets over the weekly partitions ``weeks``."""

    # Weekly-partitioned, and incremental per week: a partition's run scans only its week's day
    # partitions of raw.feedback and replaces that week's rows in the staging model and the mart
    # (idempotent; a backfill of N weeks does N weeks' work, not N full rebuilds). The first build of a
    # DuckDB file, or a run with `full_refresh: true`, rebuilds every week from the whole table.
    @dbt_assets(
        manifest=MANIFEST_PATH,
        project=DBT_PROJECT,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_cleaning",
        partitions_def=weeks,
        # dagster-dbt's default for time partitions is one run over the whole range, which a week-by-week
        # incremental build cannot serve
        backfill_policy=ONE_WEEK_A_RUN,
    )
    def dbt_cleaning(
        context: AssetExecutionContext, config: CleaningConfig, dbt: DbtCliResource, reasonlake: ReasonlakeResource
    ):
        """``dbt build`` of the selected models: the raw Iceberg tables are read through pyiceberg, the
        models land in ``Settings.duckdb_path``; dbt tests run as asset checks. The home's settings and
        the partition's week reach dbt as ``--vars``."""
        settings = reasonlake.settings()
        prepare(settings)
        week = partition_key_to_week(context.partition_key)
        full = config.full_refresh or not mart_exists(settings.duckdb_path)
        args = ["build", *vars_args(settings, **({} if full else week_vars(week)))]
        if full:
            args.append("--full-refresh")
        context.log.info(f"dbt build: {'every week (full refresh)' if full else f'{week} only (incremental)'}")
        # the build's events once it is done, each model's with its row count (`dagster/row_count`, shown in
        # the UI), counted on a read-only connection of our own: dagster-dbt's fetch_row_counts keeps a
        # DuckDB connection open in this process that the later steps of an in-process run cannot share
        events = []
        try:
            for event in dbt.cli(args, context=context).stream():
                events.append(event)
        except Exception:
            yield from events  # what dbt built before it failed stays materialized
            raise
        keys = {e.output_name: context.asset_key_for_output(e.output_name) for e in events if isinstance(e, Output)}
        counts = row_counts(settings.duckdb_path, list(keys.values()))
        for event in events:
            if isinstance(event, Output) and keys[event.output_name] in counts:
                event = event.with_metadata({**event.metadata, "dagster/row_count": counts[keys[event.output_name]]})
            yield event

    return [dbt_cleaning]


def mart_exists(duckdb_path: Path) -> bool:
    """Whether the DuckDB file holds the mart already (else the first build is a full one)."""
    import duckdb

    if not duckdb_path.exists():
        return False
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' "
            "and table_name = 'fct_feedback_messages'"
        ).fetchone()
    return bool(found and found[0])


def row_counts(duckdb_path: Path, keys: list[AssetKey]) -> dict[AssetKey, int]:
    """Rows of each ``[schema, table]`` model in the dbt DuckDB file (those it cannot count are left out)."""
    import duckdb

    out: dict[AssetKey, int] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for key in keys:
            schema, table = key.path[-2], key.path[-1]
            try:
                row = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
                out[key] = int(row[0]) if row else 0
            except duckdb.Error:
                continue
    return out
