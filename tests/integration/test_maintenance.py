"""Compaction and snapshot expiry keep every row and the sink's Kafka offsets."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from flink.checkpoints import local_dir
from flink.contract import Accepted, KafkaEnvelope, validate
from flink.jobconfig import BatchPolicy
from flink.sink import IcebergBatchSink, start_offsets
from lake import catalog as lake_catalog
from lake import maintenance

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def outcomes(start: int, n: int, topic: str = "feedback.crm") -> list:
    out = []
    for o in range(start, start + n):
        day = 2 + o % 3  # three created_at days → three partitions
        value = (
            b"junk"
            if o % 7 == 0
            else json.dumps(
                {
                    "message_id": f"m-{o}",
                    "source": "crm",
                    "text": f"late refund {o}",
                    "created_at": f"2026-03-0{day}T08:00:00Z",
                }
            ).encode()
        )
        out.append(validate(KafkaEnvelope(topic, o % 2, o, 1_773_000_000_000, value), NOW))
    return out


def fill(cat, commits: int = 6, per_commit: int = 30) -> None:
    sink = IcebergBatchSink(cat, BatchPolicy(batch_size=10_000))
    for c in range(commits):
        sink.add_all(outcomes(c * per_commit, per_commit))
        sink.flush()


def write_alerts(cat, commits: int, per_commit: int = 3, first: int = 0) -> list[str]:
    """``commits`` appends of the alert job's writer, each over two alerted_at days, numbered from ``first``;
    the alert ids."""
    from flink.alerting import AlertWriter, candidate_line

    writer, ids = AlertWriter(cat), []
    for c in range(commits):
        lines = []
        for i in range(per_commit):
            n = first + c * per_commit + i
            at = datetime(2026, 3, 2 + n % 2, 9, tzinfo=UTC)
            row = dict(
                alert_id=f"a{n:03d}", message_id=f"m{n}", source="crm", topic_id=1, reason_id="r1",
                label="late refund", week="2026-W10", model_version="v1", similarity=0.9, text="late refund",
                kafka_topic="feedback.crm", kafka_partition=0, kafka_offset=n, kafka_timestamp=at, alerted_at=at,
            )  # fmt: skip
            lines.append("sent\t" + candidate_line(row))  # what the rate limiter reports of a sent alert
            ids.append(row["alert_id"])
        assert writer.write(lines) == per_commit
    return ids


def snapshot_of(cat, identifier: str):
    table = cat.load_table(identifier)
    rows = lake_catalog.read(cat, identifier).to_pylist()
    return Counter(
        (r["kafka_partition"], r["kafka_offset"], r.get("message_id")) for r in rows
    ), lake_catalog.committed_offsets(table)


def test_compaction_and_expiry_keep_rows_and_offsets(settings) -> None:
    cat = lake_catalog.load(settings)
    fill(cat)
    before = {i: snapshot_of(cat, i) for i in maintenance.RAW_TABLES}
    resume = start_offsets(cat)
    raw = cat.load_table("raw.feedback")
    assert len(maintenance.data_files(raw)) == 6 * 3  # one file per commit and day

    # "now" an hour ahead: the compaction's own snapshots, committed inside maintain() (over a second apart
    # beside another test worker), are older than the cutoff too, so only retain_last keeps snapshots
    reports = maintenance.maintain(
        cat, expire_older_than=timedelta(0), retain_last=2, now=datetime.now(UTC) + timedelta(hours=1)
    )
    (compaction, expiry, retained, _), *_ = reports
    assert (retained.cutoff, retained.rows_deleted) == (None, 0)  # no retention: every row kept
    assert (compaction.table, compaction.partitions_compacted, compaction.files_before, compaction.files_after) == (
        "raw.feedback",
        3,
        18,
        3,
    )
    assert expiry.snapshots_before == 6 + 3 * 2 and expiry.snapshots_after == 2  # overwrite = delete + append
    for identifier in maintenance.RAW_TABLES:
        assert snapshot_of(cat, identifier) == before[identifier]
        table = cat.load_table(identifier)
        assert (
            table.current_snapshot().summary.additional_properties.get(maintenance.MAINTENANCE_SUMMARY_KEY) == "compact"
        )
    assert start_offsets(cat) == resume

    # the sink still skips what is committed and appends what is new
    sink = IcebergBatchSink(cat)
    assert sink.add_all(outcomes(0, 200)) == 20
    sink.flush()
    rows = (
        lake_catalog.read(cat, "raw.feedback").to_pylist() + lake_catalog.read(cat, "raw.feedback_rejected").to_pylist()
    )
    assert sorted(r["kafka_offset"] for r in rows) == list(range(200))

    # nothing small left to compact: a second run changes nothing but expiry
    again = maintenance.compact(cat.load_table("raw.feedback"))
    assert again.partitions_compacted == 0 or again.files_after <= 3


def test_expiry_keeps_recent_snapshots_and_never_the_current(settings) -> None:
    cat = lake_catalog.load(settings)
    fill(cat, commits=3)
    table = cat.load_table("raw.feedback")
    report = maintenance.expire_snapshots(table, older_than=datetime.now(UTC) - timedelta(days=1))
    assert report.snapshots_before == report.snapshots_after == 3  # nothing older than a day
    report = maintenance.expire_snapshots(table, older_than=datetime.now(UTC) + timedelta(days=1), retain_last=1)
    assert report.snapshots_after == 1 and table.current_snapshot() is not None
    with pytest.raises(ValueError):
        maintenance.expire_snapshots(table, older_than=NOW, retain_last=0)


def test_compaction_of_an_empty_table_is_a_no_op(settings) -> None:
    cat = lake_catalog.load(settings)
    report = maintenance.compact(lake_catalog.ensure_table(cat, "raw.feedback"))
    assert (report.partitions_compacted, report.files_before, report.files_after) == (0, 0, 0)


def test_maintenance_asset_through_dagster(settings) -> None:
    from dagster import AssetKey, materialize

    from dagster_project.definitions import compose
    from dagster_project.maintenance.assets import alerts_maintenance, raw_feedback_maintenance
    from dagster_project.resources import ReasonlakeResource

    defs = compose(settings, ReasonlakeResource.from_settings(settings))

    graph = defs.resolve_asset_graph()
    assert set(graph.get(AssetKey(["raw", "feedback_maintenance"])).parent_keys) == {
        AssetKey(["raw", "feedback"]),
        AssetKey(["raw", "feedback_rejected"]),
    }
    assert set(graph.get(AssetKey(["alerts", "alerts_maintenance"])).parent_keys) == {AssetKey(["alerts", "alerts"])}
    schedule = defs.resolve_schedule_def("lake_maintenance_schedule")
    assert schedule.cron_schedule == "30 2 * * *"
    assert set(defs.resolve_job_def(schedule.job_name).asset_layer.selected_asset_keys) == {
        AssetKey(["raw", "feedback_maintenance"]),
        AssetKey(["alerts", "alerts_maintenance"]),
    }

    def maintained(asset, config: dict) -> dict:
        """Materialize ``asset`` with ``config``; the metadata of its one materialization."""
        op = asset.key.to_python_identifier()
        result = materialize(
            [asset],
            resources={"reasonlake": ReasonlakeResource(home=str(settings.home))},
            run_config={"ops": {op: {"config": config}}},
        )
        assert result.success
        [event] = result.get_asset_materialization_events()
        return {k: v.value for k, v in event.materialization.metadata.items()}

    cat = lake_catalog.load(settings)
    fill(cat, commits=3)
    offsets = lake_catalog.committed_offsets(cat.load_table("raw.feedback"))
    meta = maintained(raw_feedback_maintenance, {"expire_older_than_days": 0, "retain_last": 1})
    assert meta["raw_feedback_files_before"] == 9 and meta["raw_feedback_files_after"] == 3
    assert meta["raw_feedback_snapshots_after"] == 3 * 2  # only the compaction's own (newer than the cutoff)
    assert lake_catalog.committed_offsets(cat.load_table("raw.feedback")) == offsets

    alerts = write_alerts(cat, commits=4)
    meta = maintained(alerts_maintenance, {"expire_older_than_days": 0, "retain_last": 1})
    assert meta["alerts_alerts_files_before"] == 4 * 2 and meta["alerts_alerts_files_after"] == 2
    assert sorted(r["alert_id"] for r in lake_catalog.read(cat, "alerts.alerts").to_pylist()) == alerts

    # with a raw retention, the broker's stored records go too (none on disk here: no broker ran), and so
    # do the checkpoint folders ingest runs left, once idle for a day (a killed run's holds its pending batch)
    checkpoints = local_dir(settings.checkpoints_uri)
    assert checkpoints is not None
    stopped, running = checkpoints / ("a" * 32), checkpoints / ("b" * 32)
    for folder in (stopped, running):
        (folder / "shared").mkdir(parents=True)
    two_days_ago = datetime.now(UTC).timestamp() - 2 * 86400
    for path in (stopped, stopped / "shared"):
        os.utime(path, (two_days_ago, two_days_ago))
    rows = len(lake_catalog.read(cat, "raw.feedback"))  # all created in March 2026: past a day's retention
    meta = maintained(raw_feedback_maintenance, {"raw_retention_days": 1})
    assert meta["raw_feedback_rows_deleted_by_retention"] == rows > 0 and meta["broker_batches_deleted"] == 0
    assert meta["checkpoint_folders_deleted"] == 1 and not stopped.exists() and running.exists()


def test_maintain_command(settings) -> None:
    from click.testing import CliRunner

    from reasonlake.cli import cli

    fill(lake_catalog.load(settings), commits=2)
    result = CliRunner().invoke(
        cli, ["--home", str(settings.home), "maintain", "--expire-older-than", "0", "--retain-last", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "raw.feedback: 3 partition(s) compacted, data files 6 -> 3; snapshots" in result.output
    assert "raw.feedback_rejected:" in result.output
    assert "alerts.alerts: 0 partition(s) compacted" in result.output  # maintained too, empty here
    assert "checkpoints: 0 folder(s) of stopped Flink runs deleted" in result.output


def test_retention_deletes_old_raw_rows_and_ingestion_does_not_read_them_again(settings) -> None:
    """Rows created before the cutoff (raw.feedback) or rejected before it (raw.feedback_rejected) go;
    the Kafka offsets stay, so a restarted ingest neither re-reads nor re-writes them."""
    cat = lake_catalog.load(settings)
    fill(cat, commits=3)
    resume = start_offsets(cat)
    before = lake_catalog.read(cat, "raw.feedback").to_pylist()
    # created_at days are 2026-03-02, 03 and 04: keep what is younger than 7 days at 2026-03-10 12:00
    reports = maintenance.maintain(cat, retention=timedelta(days=7), now=NOW)
    (_, _, feedback, _), (_, _, rejected, _), (_, _, alerts, _) = reports
    assert alerts.cutoff is None and alerts.rows_deleted == 0  # alerts hold redacted text: no retention
    after = lake_catalog.read(cat, "raw.feedback").to_pylist()
    old = [r for r in before if r["created_at"] < NOW - timedelta(days=7)]
    assert feedback.rows_deleted == len(old) > 0 and len(after) == len(before) - len(old)
    assert all(r["created_at"] >= NOW - timedelta(days=7) for r in after)
    assert rejected.rows_deleted == 0  # rejected just now: within retention
    assert start_offsets(cat) == resume
    table = cat.load_table("raw.feedback")
    assert table.current_snapshot().summary.additional_properties.get(maintenance.MAINTENANCE_SUMMARY_KEY) in {
        "retention",
        "compact",
    }
    # a replay of the same records writes nothing: their offsets are committed
    sink = IcebergBatchSink(cat)
    assert sink.add_all(outcomes(0, 90)) == 0
    # a second run has nothing left to delete
    (_, _, again, _), *_ = maintenance.maintain(cat, retention=timedelta(days=7), now=NOW)
    assert again.rows_deleted == 0


def test_maintain_command_applies_the_retention_setting_or_flag(settings) -> None:
    from click.testing import CliRunner

    from reasonlake.cli import cli

    cat = lake_catalog.load(settings)
    fill(cat, commits=2)
    rows = len(lake_catalog.read(cat, "raw.feedback"))
    home = ["--home", str(settings.home), "maintain"]
    kept = CliRunner().invoke(cli, home)  # no setting, no flag: every row kept
    assert (
        kept.exit_code == 0
        and "row(s) older than" not in kept.output
        and len(lake_catalog.read(cat, "raw.feedback")) == rows
    )
    # the setting (environment): the rows of March 2026 are older than 30 days today
    result = CliRunner().invoke(cli, home, env={"REASONLAKE_RAW_RETENTION_DAYS": "30"})
    assert result.exit_code == 0, result.output
    assert f"raw.feedback: {rows} row(s) older than 30 days deleted" in result.output
    assert len(lake_catalog.read(cat, "raw.feedback")) == 0
    bad = CliRunner().invoke(cli, [*home, "--raw-retention-days", "0"])
    assert bad.exit_code == 2  # a usage error, one line


def _files(table, pattern: str) -> list:
    from pathlib import Path
    from urllib.parse import urlparse

    return sorted(Path(urlparse(table.location()).path).rglob(pattern))


def test_disk_stays_bounded_metadata_on_commit_and_unreferenced_files_by_maintain(settings) -> None:
    """Old metadata files go on commit (at most 20 previous kept); after maintenance only the files of
    the retained snapshots stay on disk; every row and offset is still there."""
    cat = lake_catalog.load(settings)
    fill(cat, commits=25, per_commit=6)
    table = cat.load_table("raw.feedback")
    assert table.properties["write.metadata.delete-after-commit.enabled"] == "true"
    assert len(_files(table, "*.metadata.json")) <= 21 + 1
    before = snapshot_of(cat, "raw.feedback")
    parquet_before = len(_files(table, "*.parquet"))
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    for path in _files(table, "*"):
        os.utime(path, (hour_ago, hour_ago))  # written an hour ago, as under a long-running ingest
    stray = _files(table, "*.parquet")[0].with_name("in-flight-writer.parquet")
    stray.write_bytes(b"PAR1 not yet committed")  # a writer's file before its commit: newer than the grace

    reports = maintenance.maintain(
        cat, expire_older_than=timedelta(0), retain_last=1, orphans_older_than=timedelta(minutes=10)
    )
    (_, expiry, _, orphans), *_ = reports
    table = cat.load_table("raw.feedback")
    assert expiry.snapshots_after < expiry.snapshots_before and orphans.files_deleted > 0 and orphans.bytes_deleted > 0
    assert stray.exists()  # younger than the grace period
    # the compaction's own snapshots (newer than the cutoff) still hold the old files: a later run frees them
    maintenance.expire_snapshots(table, datetime.now(UTC) + timedelta(seconds=1), retain_last=1)
    for path in _files(table, "*"):
        if path != stray:
            os.utime(path, (hour_ago, hour_ago))
    maintenance.remove_orphan_files(table, older_than=datetime.now(UTC) - timedelta(minutes=10))
    table = cat.load_table("raw.feedback")
    assert len(_files(table, "*.parquet")) == len(maintenance.data_files(table)) + 1 < parquet_before
    referenced = maintenance.referenced_files(table)
    assert all(str(p) in {r.removeprefix("file://") for r in referenced} for p in _files(table, "*.avro"))
    assert snapshot_of(cat, "raw.feedback") == before
    # past the grace period the stray file goes too
    maintenance.remove_orphan_files(table, older_than=datetime.now(UTC) + timedelta(seconds=1))
    assert not stray.exists()
    assert snapshot_of(cat, "raw.feedback") == before


def test_a_partition_another_writer_keeps_committing_to_is_deferred_then_compacted(settings, monkeypatch) -> None:
    """Compaction commits only if main did not move since it read the partition: a writer that commits
    before every rewrite wins each time, and the partition is deferred (nothing lost, nothing doubled);
    the next run, without the race, compacts it."""
    from pyiceberg.table import Table

    cat = lake_catalog.load(settings)
    fill(cat)
    other = IcebergBatchSink(lake_catalog.load(settings), BatchPolicy(batch_size=10_000))
    raced: list = []
    overwrite = Table.overwrite

    def racing(self, *args, **kwargs):  # the ingest job's commit lands between the read and the rewrite
        raced.extend(outcomes(1000 + len(raced), 3))
        other.add_all(raced[-3:])
        other.flush()
        return overwrite(self, *args, **kwargs)

    monkeypatch.setattr(Table, "overwrite", racing)
    report = maintenance.compact(cat.load_table("raw.feedback"), retries=2)
    assert (report.partitions_compacted, report.partitions_deferred) == (0, 3), report
    monkeypatch.undo()
    assert len(raced) == 3 * 2 * 3  # 3 partitions × 2 attempts, 3 records each
    rows, offsets = snapshot_of(cat, "raw.feedback")
    accepted = [o for o in [*outcomes(0, 180), *raced] if isinstance(o, Accepted)]
    assert max(rows.values()) == 1 and len(rows) == len(accepted)  # nothing lost, nothing doubled
    assert offsets == {("feedback.crm", 0): 1016, ("feedback.crm", 1): 1017}

    again = maintenance.compact(cat.load_table("raw.feedback"))
    assert again.partitions_deferred == 0 and again.partitions_compacted == 3, again
    assert snapshot_of(cat, "raw.feedback") == (rows, offsets)
