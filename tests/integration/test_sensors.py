"""The Dagster sensors over a real Iceberg catalog: the ingest job's commits reported as
materializations of the raw tables, the alert writer's as materializations of alerts/alerts, and the
weekly run requested once a week has closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import AssetKey, DagsterInstance, build_sensor_context

from dagster_project.definitions import compose, defs
from dagster_project.ingestion.sensors import raw_feedback_commits
from dagster_project.partitions import first_week, weekly_partitions
from dagster_project.resources import ReasonlakeResource
from dagster_project.weekly import definitions as weekly_domain
from lake import catalog as lake_catalog
from lake.maintenance import RAW_TABLES

FEEDBACK = AssetKey(["raw", "feedback"])
REJECTED = AssetKey(["raw", "feedback_rejected"])


def feedback_rows(created: list[datetime], first_offset: int) -> list[dict]:
    return [
        {
            "message_id": f"m{first_offset + i}",
            "source": "crm",
            "text": "slow refund",
            "created_at": at,
            "kafka_topic": "feedback.crm",
            "kafka_partition": 0,
            "kafka_offset": first_offset + i,
            "kafka_timestamp": at,
            "ingested_at": at,
        }
        for i, at in enumerate(created)
    ]


def commit(settings, created: list[datetime], first_offset: int) -> None:
    cat = lake_catalog.load(settings)
    last = first_offset + len(created) - 1
    for identifier, rows in (("raw.feedback", feedback_rows(created, first_offset)), ("raw.feedback_rejected", [])):
        table = lake_catalog.ensure_table(cat, identifier)
        lake_catalog.append(table, lake_catalog.to_arrow(identifier, rows), offsets={("feedback.crm", 0): last})


def test_the_ingest_commits_since_the_last_report_become_one_materialization_of_each_raw_table(settings) -> None:
    """Every commit is reported once, those since the last report together (one per commit would add some
    74 MB a day to the Dagster instance under a steady ingest)."""
    from dagster_project.commits import report_commits

    resource = ReasonlakeResource.from_settings(settings)
    monday = datetime(2026, 11, 2, 9, tzinfo=UTC)
    commit(settings, [monday] * 3, 0)
    commit(settings, [monday + timedelta(hours=1)] * 2, 3)

    with DagsterInstance.ephemeral() as instance:
        result = raw_feedback_commits(build_sensor_context(instance=instance, resources={"reasonlake": resource}))
        feedback = [e for e in result.asset_events if e.asset_key == FEEDBACK]
        rejected = [e for e in result.asset_events if e.asset_key == REJECTED]
        assert [(e.metadata["commits"].value, e.metadata["rows_added"].value) for e in feedback] == [(2, 5)]
        assert feedback[-1].metadata["dagster/row_count"].value == 5
        assert feedback[-1].metadata["kafka_offsets"].value == {"feedback.crm#0": 4}
        table = lake_catalog.load(settings).load_table("raw.feedback")
        assert feedback[-1].metadata["snapshot_id"].value == str(table.current_snapshot().snapshot_id)
        # no rejection in either batch: the rejected table is reported current up to the same offsets
        assert [e.metadata["rows_added"].value for e in rejected] == [0]
        assert rejected[0].metadata["kafka_offsets"].value == {"feedback.crm#0": 4}
        for event in result.asset_events:  # what the daemon does with a sensor's asset events
            instance.report_runless_asset_event(event)
        assert instance.get_latest_materialization_event(FEEDBACK) is not None

        # the instance is the cursor: nothing is reported twice, by the sensor or by `reasonlake ingest`
        context = build_sensor_context(instance=instance, resources={"reasonlake": resource})
        assert raw_feedback_commits(context).asset_events == []
        commit(settings, [monday + timedelta(hours=2)], 5)
        commit(settings, [monday + timedelta(hours=3)], 6)
        assert report_commits(instance, lake_catalog.load(settings), RAW_TABLES) == 2  # raw.feedback's two new ones
        latest = instance.get_latest_materialization_event(FEEDBACK).asset_materialization
        assert latest.metadata["commits"].value == 2 and latest.metadata["rows_added"].value == 2
        assert latest.metadata["dagster/row_count"].value == 7
        rejected_now = instance.get_latest_materialization_event(REJECTED).asset_materialization
        assert rejected_now.metadata["kafka_offsets"].value == {"feedback.crm#0": 6}  # the rejected table's offsets
        assert raw_feedback_commits(context).asset_events == []


def test_the_alert_writers_commits_become_one_materialization_of_alerts_alerts(settings, monkeypatch) -> None:
    """Dagster sees what the alert job writes as it sees ingestion: the writer's commits since the last
    report, as one materialization of alerts/alerts; maintenance rewriting the same alerts adds none; commits
    the history trim expired before the report are said to be missing from its count."""
    from dagster_project.alerting.sensors import alerts_commits
    from dagster_project.commits import report_commits
    from lake import maintenance
    from lake.schemas import ALERTS
    from tests.integration.test_maintenance import write_alerts

    key, resource = AssetKey(["alerts", "alerts"]), ReasonlakeResource.from_settings(settings)
    cat = lake_catalog.load(settings)
    write_alerts(cat, commits=2)  # 6 alerts

    def figures(event) -> tuple:
        return tuple(event.metadata[k].value for k in ("commits", "rows_added", "dagster/row_count"))

    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"reasonlake": resource})
        [event] = alerts_commits(context).asset_events
        assert event.asset_key == key and figures(event) == (2, 6, 6)
        assert event.metadata["history_trimmed"].value is False and "at least" not in (event.description or "")
        assert event.metadata["snapshot_id"].value == str(
            cat.load_table(ALERTS.identifier).current_snapshot().snapshot_id
        )
        instance.report_runless_asset_event(event)
        assert alerts_commits(context).asset_events == []

        [(compaction, *_)] = maintenance.maintain(cat, (ALERTS.identifier,))
        assert compaction.partitions_compacted == 2  # two days, two files each: rewritten, no alert added
        assert alerts_commits(context).asset_events == []
        write_alerts(cat, commits=1, first=6)
        assert report_commits(instance, cat, (ALERTS.identifier,)) == 1  # what `reasonlake alerts` does after a run
        latest = instance.get_latest_materialization_event(key).asset_materialization
        assert figures(latest) == (1, 3, 9)

        # alerts flowing faster than the history keeps them (a commit every 2 s; here a history of 4)
        monkeypatch.setattr(lake_catalog, "HISTORY_MAX", 4)
        monkeypatch.setattr(lake_catalog, "HISTORY_KEPT", 2)
        write_alerts(cat, commits=5, first=9)  # 15 alerts
        [event] = alerts_commits(context).asset_events
        assert event.metadata["history_trimmed"].value is True and "at least" in (event.description or "")
        commits, rows, total = figures(event)
        assert commits < 5 and rows < 15 and total == 24  # the total stays exact


def _weekly_sensor(first: str):
    return weekly_domain.build_defs(weekly_partitions(first)).resolve_sensor_def("weekly_on_closed_week")


def test_the_weekly_run_is_requested_once_a_week_has_closed_and_its_data_is_in(settings) -> None:
    weekly_on_closed_week = _weekly_sensor("2026-W01")
    resource = ReasonlakeResource.from_settings(settings)
    w45 = datetime(2026, 11, 4, 12, tzinfo=UTC)  # 2026-W45 (Mon 2 Nov .. Sun 8 Nov)
    commit(settings, [w45, w45 + timedelta(days=3)], 0)

    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"reasonlake": resource})
        first = weekly_on_closed_week(context)
        assert first.run_requests == []  # W45 has not closed: nothing newer arrived yet

        commit(settings, [datetime(2026, 11, 9, 0, 30, tzinfo=UTC)], 2)  # the first message of W46
        second = weekly_on_closed_week(
            build_sensor_context(instance=instance, resources={"reasonlake": resource}, cursor=first.cursor)
        )
        assert [(r.partition_key, r.run_key) for r in second.run_requests] == [("2026-11-02", "weekly-2026-W45")]
        third = weekly_on_closed_week(
            build_sensor_context(instance=instance, resources={"reasonlake": resource}, cursor=second.cursor)
        )
        assert third.run_requests == []  # once per week


def test_weeks_already_materialized_are_not_requested_again_unless_rows_arrive_for_them(settings) -> None:
    """``make demo`` / ``reasonlake weekly`` record the weekly graph in the same instance: starting the daemon
    afterwards must not refit those weeks; a week is run again only when rows arrived for it since."""
    from dagster import AssetMaterialization

    weekly_on_closed_week = _weekly_sensor("2026-W01")
    resource = ReasonlakeResource.from_settings(settings)
    w45, w46, w47 = (datetime(2026, 11, 4 + 7 * i, 12, tzinfo=UTC) for i in range(3))
    commit(settings, [w45, w45, w46, w47], 0)  # W45 and W46 closed

    with DagsterInstance.ephemeral() as instance:
        for key in ("2026-11-02", "2026-11-09"):  # what a CLI run of W45 and W46 recorded
            instance.report_runless_asset_event(AssetMaterialization(AssetKey(["ml", "elections"]), partition=key))

        def tick(cursor=None):
            return weekly_on_closed_week(
                build_sensor_context(instance=instance, resources={"reasonlake": resource}, cursor=cursor)
            )

        first = tick()
        assert first.run_requests == []  # both weeks done already
        commit(settings, [datetime(2026, 11, 24, tzinfo=UTC)], 4)  # W48 begins: W47 closed, never run
        second = tick(first.cursor)
        assert [r.run_key for r in second.run_requests] == ["weekly-2026-W47"]
        assert tick(second.cursor).run_requests == []

        # maintenance compacts W45's files: the same rows, nothing to do
        cat = lake_catalog.load(settings)
        from lake import maintenance

        maintenance.maintain(cat, ("raw.feedback",))
        assert tick(second.cursor).run_requests == []
        commit(settings, [w45 + timedelta(days=1)], 5)  # a late message of W45 arrives
        late = tick(second.cursor)
        assert [(r.partition_key, r.run_key, r.tags["reasonlake/trigger"]) for r in late.run_requests] == [
            ("2026-11-02", "weekly-2026-W45-3", "late-data")
        ]
        assert tick(late.cursor).run_requests == []


def test_an_archive_older_than_the_partitions_is_said_once_then_run_once_they_cover_it(settings, monkeypatch) -> None:
    """The partitions start at REASONLAKE_FIRST_WEEK, else at the data's first week when the definitions
    load: an archive from 2015 ingested into a running system is named (once) until they load again."""
    resource = ReasonlakeResource.from_settings(settings)
    assert first_week(settings.replace(first_week="2015-W02")) == "2015-W02"
    commit(settings, [datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC)], 0)
    assert first_week(settings) == "2026-W45"  # the data's first week
    live = _weekly_sensor(first_week(settings))
    archive = datetime(2015, 2, 17, 12, tzinfo=UTC)  # 2015-W08, closed by the 2026 messages
    commit(settings, [archive, archive + timedelta(days=1)], 2)

    with DagsterInstance.ephemeral() as instance:
        first = live(build_sensor_context(instance=instance, resources={"reasonlake": resource}))
        assert [r.partition_key for r in first.run_requests] == ["2026-11-02"]  # W45; 2015-W08 is outside
        again = live(build_sensor_context(instance=instance, resources={"reasonlake": resource}, cursor=first.cursor))
        assert again.run_requests == []  # said once, not requested

        # the definitions load again (a restart, or Reload in the UI): the partitions start at 2015-W08 now
        assert first_week(settings) == "2015-W08"
        reloaded = _weekly_sensor(first_week(settings))
        cursor = again.cursor
        after = reloaded(build_sensor_context(instance=instance, resources={"reasonlake": resource}, cursor=cursor))
        assert [(r.partition_key, r.run_key) for r in after.run_requests] == [("2015-02-16", "weekly-2015-W08")]

    # the UI's code location reads the same settings from the environment when it loads
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    keys = defs().resolve_job_def("weekly").partitions_def.get_partition_keys()
    assert keys[0] == "2015-02-16" and "2026-11-02" in keys
    monkeypatch.setenv("REASONLAKE_FIRST_WEEK", "2026-W40")
    assert defs().resolve_job_def("weekly").partitions_def.get_partition_keys()[0] == "2026-09-28"


def test_the_sensors_and_freshness_checks_are_in_the_definitions(settings) -> None:
    defs = compose(settings, ReasonlakeResource.from_settings(settings))
    assert defs.resolve_sensor_def("raw_feedback_commits") and defs.resolve_sensor_def("weekly_on_closed_week")
    assert defs.resolve_sensor_def("raw_freshness")
    checks = {k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key in (FEEDBACK, REJECTED)}
    assert {c.asset_key for c in checks} == {FEEDBACK, REJECTED}
