"""Smoke test: the Dagster definitions load with the full lineage from Kafka to Feast."""

import pytest
from dagster import AssetKey, DefaultSensorStatus, Definitions

from dagster_project.definitions import compose
from dagster_project.resources import ReasonlakeResource
from lake.settings import Settings
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> Definitions:
    home = tmp_path_factory.mktemp("home")
    return compose(Settings(home=home, first_week="2024-W01"), ReasonlakeResource(home=str(home)))


def _deps(graph, key):
    return set(graph.get(AssetKey(key)).parent_keys)


def test_definitions_load_with_full_lineage(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.path[0] + "/" + k.path[-1] for k in graph.get_all_asset_keys()}
    for expected in (
        "kafka/feedback",
        "raw/feedback",
        "raw/feedback_rejected",
        "marts/fct_feedback_messages",
        "ml/topic_model",
        "ml/topics",
        "ml/message_topics",
        "ml/elections",
        "feast/reasons",
        "alerts/alerts",
    ):
        assert expected in keys, expected
    assert AssetKey(["feast", "reasons"]) in _deps(graph, ["alerts", "alerts"])
    # what the two streaming jobs write is reported by a sensor each, running from the start
    for name in ("raw_feedback_commits", "alerts_commits"):
        assert defs.resolve_sensor_def(name).default_status == DefaultSensorStatus.RUNNING
    assert AssetKey(["kafka", "feedback"]) in _deps(graph, ["raw", "feedback"])
    # walk upstream from Feast all the way to Kafka
    frontier, seen = {AssetKey(["feast", "reasons"])}, set()
    while frontier:
        key = frontier.pop()
        seen.add(key)
        frontier |= set(graph.get(key).parent_keys) - seen
    assert {
        AssetKey(["kafka", "feedback"]),
        AssetKey(["raw", "feedback"]),
        AssetKey(["ml", "elections"]),
        AssetKey(["marts", "fct_feedback_messages"]),
    } <= seen


def test_the_weekly_job_selects_its_groups_and_the_registry_follows_the_previous_week(defs):
    from dagster import TimeWindowPartitionMapping

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("weekly")
    selected = set(job.asset_layer.selected_asset_keys)
    groups = {graph.get(k).group_name for k in selected}
    assert groups == {"cleaning", "topics", "elections", "serving"}
    assert AssetKey(["feast", "reasons"]) in selected
    assert not {AssetKey(["raw", "feedback_maintenance"]), AssetKey(["alerts", "alerts_maintenance"])} & selected
    reasons = AssetKey(["ml", "reasons"])
    assert reasons in graph.get(reasons).parent_keys
    mapping = graph.get_partition_mapping(reasons, reasons)
    assert isinstance(mapping, TimeWindowPartitionMapping) and (mapping.start_offset, mapping.end_offset) == (-1, -1)


def test_every_weekly_asset_runs_one_week_a_run_in_a_backfill(defs):
    """dagster-dbt gives time-partitioned dbt assets one run over the whole range: a UI backfill of the
    weekly graph then failed in dbt_cleaning (partition_key of a range). One policy across the graph
    also lets a week's assets share a run."""
    from dagster import BackfillPolicy

    graph = defs.resolve_asset_graph()
    weekly = [graph.get(k) for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None]
    assert len(weekly) >= 12
    assert {node.backfill_policy for node in weekly} == {BackfillPolicy.multi_run(1)}


def test_weekly_job_and_schedule(defs):
    job = defs.resolve_job_def("weekly")
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys()[0] == "2024-01-01"
    schedule = defs.resolve_schedule_def("weekly_schedule")
    assert schedule.cron_schedule == "0 3 * * 1"


def test_workspace_loads_as_the_ui_loads_it():
    """`dagster dev` loads workspace.yaml as a code location (one Definitions at module scope)."""
    import subprocess
    import sys
    from pathlib import Path

    root = REPO
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_the_homes_instance_runs_one_weekly_run_and_one_backfill_run_at_a_time_and_purges_old_ticks(tmp_path, defs):
    from dagster import DagsterInstance

    from lake.settings import Settings
    from reasonlake.weekly import dagster_home

    settings = Settings(home=tmp_path)
    (settings.dagster_dir).mkdir(parents=True)
    (settings.dagster_dir / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # a home made before
    instance = DagsterInstance.from_config(str(dagster_home(settings)))
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {(lim["key"], lim["limit"]) for lim in limits} == {("reasonlake/weekly", 1), ("dagster/backfill", 1)}
    # a sensor ticking every 30 s for weeks: its ticks are purged after a while, not kept for ever
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    sensor_ticks = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert sensor_ticks[TickStatus.SUCCESS] == 14 and sensor_ticks[TickStatus.FAILURE] == 90
    assert instance.get_tick_retention_settings(InstigatorType.SCHEDULE)[TickStatus.SUCCESS] == 90
    assert defs.resolve_job_def("weekly").tags["reasonlake/weekly"] == "true"
