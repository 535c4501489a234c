"""A 4-week backfill launched the way the UI launches it (the webserver's GraphQL API, run by the home's
Dagster daemon) gives the same reason registry as running the 4 weeks one by one. The weeks come in
order (ml/reasons depends on the previous week's registry) and one run at a time (the run queue's
``dagster/backfill`` limit): they share the dbt DuckDB file and the registry.

Both homes hold the same raw messages (written to ``raw.feedback`` through the contract: ingestion
has its own tests) and the same marts (one full dbt build: the incremental dbt assets have their own
test). The backfill selects the topic fit and the registry (the fit embeds the week's messages itself
when ml/embeddings is not in the selection); the weeks one by one run in this process while the
daemon works through the backfill (two cores, two sequential streams of work).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, RunsFilter, define_asset_job

from dagster_project.cleaning.resources import prepare, run_dbt
from dagster_project.definitions import compose
from dagster_project.resources import ReasonlakeResource
from flink.contract import Accepted, KafkaEnvelope, validate
from lake import catalog as lake_catalog
from lake.settings import Settings
from lake.weeks import week_to_partition_key
from reasonlake.synthetic import SyntheticSpec, generate
from reasonlake.weekly import dagster_home
from tests.support.paths import REPO
from tests.support.ui import Ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SELECTION = [["ml", "topic_model"], ["ml", "reasons"], ["ml", "reason_mappings"], ["ml", "reason_events"]]
REASONS = AssetKey(["ml", "reasons"])
BIN = Path(sys.executable).parent


def write_raw(settings: Settings, records) -> None:
    """The records as the ingest job commits them: validated by the contract, with Kafka provenance."""
    now = datetime.now(UTC)
    rows = []
    for offset, record in enumerate(records):
        envelope = KafkaEnvelope(
            topic=record.topic, partition=0, offset=offset, timestamp_ms=int(now.timestamp() * 1000), value=record.value
        )
        outcome = validate(envelope, now)
        if isinstance(outcome, Accepted):
            rows.append({**outcome.row, "ingested_at": now})
    table = lake_catalog.ensure_table(lake_catalog.load(settings), "raw.feedback")
    lake_catalog.append(table, lake_catalog.to_arrow("raw.feedback", rows))


def registry(settings: Settings) -> list[dict]:
    rows = lake_catalog.read(lake_catalog.load(settings), "ml.reasons").to_pylist()
    return sorted(
        ({k: v for k, v in r.items() if k != "updated_at"} for r in rows), key=lambda r: (r["week"], r["reason_id"])
    )


SENSORS = "{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { id name } } } } }"
STOP_SENSOR = "mutation($id: String) { stopSensor(id: $id) { __typename } }"
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
STATUS = "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"


def test_a_four_week_backfill_through_the_ui_equals_the_weeks_one_by_one(tmp_path):
    records, truth = generate(SyntheticSpec(messages=800, weeks=4, seed=17, invalid_rate=0.0, duplicate_rate=0.0))
    weeks = truth.weeks
    keys = [week_to_partition_key(w) for w in weeks]
    one_by_one = Settings(home=tmp_path / "one-by-one")
    backfilled = Settings(home=tmp_path / "backfill")
    for settings in (one_by_one, backfilled):
        settings.ensure_dirs()
        write_raw(settings, records)
        prepare(settings)
        run_dbt(settings, ["build", "--quiet"])

    # the weeks as one backfill, launched through the UI's API and run by the daemon
    ui = Ui(backfilled)
    daemon = None
    try:
        sensors = ui.query(SENSORS)["repositoriesOrError"]["nodes"][0]["sensors"]
        for sensor in sensors:  # the closed-week sensor would request the weekly runs of these weeks too
            ui.query(STOP_SENSOR, id=sensor["id"])
        daemon_log = backfilled.logs_dir / "daemon-backfill.log"
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=backfilled.child_env(DAGSTER_HOME=str(dagster_home(backfilled))),
            stdout=daemon_log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        params = {"partitionNames": keys, "assetSelection": [{"path": k} for k in SELECTION], "fromFailure": False}
        launched = ui.query(LAUNCH, params=params)["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched

        # meanwhile the same weeks one by one, in order, in this process
        defs = compose(one_by_one, ReasonlakeResource.from_settings(one_by_one))
        job = define_asset_job("up_to_the_registry", selection=[AssetKey(k) for k in SELECTION])
        resolved = Definitions.merge(defs, Definitions(jobs=[job])).resolve_job_def("up_to_the_registry")
        with DagsterInstance.ephemeral() as instance:
            for key in keys:
                assert resolved.execute_in_process(partition_key=key, instance=instance).success

        deadline = time.monotonic() + 1200
        while True:
            status = ui.query(STATUS, id=launched["backfillId"])["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            assert daemon.poll() is None, daemon_log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"backfill still {status}\n" + daemon_log.read_text()[-3000:]
            time.sleep(5)
        assert status in ("COMPLETED", "COMPLETED_SUCCESS"), (status, daemon_log.read_text()[-3000:])
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        ui.stop()

    with DagsterInstance.from_config(str(dagster_home(backfilled))) as instance:
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": launched["backfillId"]}))
        assert runs and all(r.is_success for r in runs), [(r.tags.get("dagster/partition"), r.status) for r in runs]
        # one run at a time
        spans = sorted((instance.get_run_record_by_id(r.run_id) for r in runs), key=lambda rec: rec.start_time)
        for before, after in itertools.pairwise(spans):
            assert before.end_time <= after.start_time, "two backfill runs overlapped"
        # the registry's weeks in order
        events = instance.fetch_materializations(REASONS, limit=100).records
        assert [e.partition_key for e in sorted(events, key=lambda e: e.storage_id)] == keys

    expected, got = registry(one_by_one), registry(backfilled)
    assert {r["week"] for r in expected} == set(weeks) and any(r["status"] == "alive" for r in expected)
    assert [{k: v for k, v in r.items() if k != "embedding"} for r in got] == [
        {k: v for k, v in r.items() if k != "embedding"} for r in expected
    ]
    for a, b in zip(got, expected, strict=True):
        assert np.allclose(a["embedding"], b["embedding"], atol=1e-6)
