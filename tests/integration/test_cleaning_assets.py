"""The dbt project as Dagster assets: keys mirror storage, sources map to the ingestion assets, and
the assets materialize through Dagster."""

from datetime import UTC, datetime

import dagster
import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey

from dagster_project.cleaning import assets as cleaning_assets
from dagster_project.cleaning.assets import TRANSLATOR
from dagster_project.cleaning.resources import DBT_PROJECT_DIR, VenvDbtCliResource, build_dbt_resource
from dagster_project.ingestion.definitions import defs as ingestion_defs
from dagster_project.partitions import weekly_partitions
from dagster_project.resources import ReasonlakeResource
from lake import catalog as lake_catalog
from lake.settings import Settings

T0 = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
MODELS = {
    AssetKey(["staging", "stg_raw__feedback_messages"]),
    AssetKey(["staging", "stg_raw__feedback_rejections"]),
    AssetKey(["intermediate", "int_feedback_messages_deduplicated"]),
    AssetKey(["marts", "fct_feedback_messages"]),
    AssetKey(["marts", "fct_feedback_rejections_daily"]),
}

[dbt_cleaning] = cleaning_assets.build(weekly_partitions("2025-W40"))


def test_translator_maps_sources_to_the_raw_assets():
    assert TRANSLATOR.get_asset_key(
        {"resource_type": "source", "source_name": "raw", "schema": "raw", "name": "feedback", "identifier": "feedback"}
    ) == AssetKey(["raw", "feedback"])
    assert TRANSLATOR.get_asset_key(
        {"resource_type": "model", "schema": "marts", "name": "fct_feedback_messages", "alias": "fct_feedback_messages"}
    ) == AssetKey(["marts", "fct_feedback_messages"])


def test_dbt_assets_keys_and_lineage():
    assert set(dbt_cleaning.keys) == MODELS
    deps = dbt_cleaning.asset_deps
    assert deps[AssetKey(["staging", "stg_raw__feedback_messages"])] == {AssetKey(["raw", "feedback"])}
    assert deps[AssetKey(["staging", "stg_raw__feedback_rejections"])] == {AssetKey(["raw", "feedback_rejected"])}
    assert all(dbt_cleaning.group_names_by_key[k] == "cleaning" for k in MODELS)
    assert any(k.asset_key == AssetKey(["marts", "fct_feedback_messages"]) for k in dbt_cleaning.check_keys)
    # the singular dedup test reads two models; its dbt meta makes it the mart's check, not an observation
    dedup = AssetCheckKey(AssetKey(["marts", "fct_feedback_messages"]), "assert_feedback_messages_dedup_complete")
    assert dedup in dbt_cleaning.check_keys


def test_ingestion_assets_feed_the_dbt_sources():
    defs = dagster.Definitions.merge(
        ingestion_defs,
        dagster.Definitions(
            assets=[dbt_cleaning],
            resources={"dbt": build_dbt_resource(), "reasonlake": ReasonlakeResource(home="/unused")},
        ),
    )
    graph = defs.resolve_asset_graph()
    raw = graph.get(AssetKey(["raw", "feedback"]))
    assert raw.is_external and raw.group_name == "ingestion"
    assert raw.parent_keys == {AssetKey(["kafka", "feedback"])}
    assert AssetKey(["staging", "stg_raw__feedback_messages"]) in raw.child_keys
    columns = [c.name for c in raw.metadata["dagster/column_schema"].columns]
    assert columns[:3] == ["message_id", "source", "text"]
    assert graph.get(AssetKey(["raw", "feedback_rejected"])).parent_keys == {AssetKey(["kafka", "feedback"])}


def test_the_venvs_dbt_version_is_known_without_running_dbt(monkeypatch, tmp_path):
    import dagster_dbt.core.resource as dagster_dbt_resource
    from dbt.version import __version__
    from packaging import version

    ran = []
    monkeypatch.setattr(dagster_dbt_resource, "check_output", lambda args: ran.append(args) or b"installed: 9.9.9")
    assert build_dbt_resource()._cli_version == version.parse(__version__)
    assert ran == []
    # another dbt executable is still asked
    other = tmp_path / "dbt"
    other.write_text("")
    other.chmod(0o755)
    resource = VenvDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=str(other))
    assert resource._cli_version == version.parse("9.9.9") and ran == [[str(other), "--version"]]


@pytest.mark.slow
def test_dbt_assets_materialize(tmp_path):
    settings = Settings(home=tmp_path)
    catalog = lake_catalog.load(settings)
    row = dict(
        message_id="m1",
        source="crm",
        text=" late   delivery ",
        created_at=T0,
        user_id=None,
        user_segment=None,
        user_country=None,
        tags=None,
        rating=2,
        attributes=None,
        kafka_topic="feedback.crm",
        kafka_partition=0,
        kafka_offset=0,
        kafka_timestamp=T0,
        ingested_at=T0,
    )
    lake_catalog.append(
        lake_catalog.ensure_table(catalog, "raw.feedback"),
        lake_catalog.to_arrow("raw.feedback", [row, {**row, "kafka_offset": 1}]),
    )
    # raw.feedback_rejected does not exist yet: the asset creates it (empty) before dbt reads it

    result = dagster.materialize(
        [dbt_cleaning],
        resources={"dbt": build_dbt_resource(), "reasonlake": ReasonlakeResource(home=str(tmp_path))},
        partition_key="2026-01-05",
    )
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == MODELS
    counts = {
        e.asset_key.path[-1]: e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
        if "dagster/row_count" in e.materialization.metadata
    }
    assert counts["fct_feedback_messages"] == 1 and counts["stg_raw__feedback_messages"] == 2, counts
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        assert con.execute("select message_id, text_normalized, week from marts.fct_feedback_messages").fetchall() == [
            ("m1", "late delivery", "2026-W02")
        ]

    # the next weeks are incremental: a week's run scans only that week's days of raw.feedback and
    # replaces only that week's rows; full_refresh rebuilds every week from the whole table
    from datetime import timedelta

    def run(partition_key: str, **config):
        return dagster.materialize(
            [dbt_cleaning],
            resources={"dbt": build_dbt_resource(), "reasonlake": ReasonlakeResource(home=str(tmp_path))},
            partition_key=partition_key,
            run_config={"ops": {"dbt_cleaning": {"config": config}}} if config else None,
        )

    def mart_and_scan():
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            mart = con.execute("select week, message_id from marts.fct_feedback_messages order by 1, 2").fetchall()
            scanned = con.execute("select message_id from raw.feedback order by 1").fetchall()
        return mart, [m for (m,) in scanned]

    w03 = T0 + timedelta(days=7)
    lake_catalog.append(
        lake_catalog.ensure_table(catalog, "raw.feedback"),
        lake_catalog.to_arrow(
            "raw.feedback",
            [
                {**row, "message_id": "m2", "created_at": w03, "kafka_offset": 2},
                {**row, "message_id": "m3", "created_at": T0 + timedelta(hours=1), "kafka_offset": 3},  # late, W02
            ],
        ),
    )
    assert run("2026-01-12").success  # 2026-W03
    mart, scanned = mart_and_scan()
    assert scanned == ["m2"]  # only W03's days were read from Iceberg
    assert mart == [("2026-W02", "m1"), ("2026-W03", "m2")]  # W02 untouched: its late message waits for W02's run
    assert run("2026-01-05").success  # W02 again: its rows replaced, late message included
    mart, scanned = mart_and_scan()
    assert scanned == ["m1", "m1", "m3"] and mart == [("2026-W02", "m1"), ("2026-W02", "m3"), ("2026-W03", "m2")]
    assert run("2026-01-12", full_refresh=True).success
    mart, scanned = mart_and_scan()
    assert len(scanned) == 4 and mart == [("2026-W02", "m1"), ("2026-W02", "m3"), ("2026-W03", "m2")]
