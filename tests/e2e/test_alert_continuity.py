"""One alert job left running for weeks, on real components: the broker, the ingestion job, the weekly
graph through Dagster (dbt, the batch embedding job, BERTopic on the real model, the registry, the
election, Feast), and the alert job as `reasonlake alerts` runs it.

While it runs, two more weeks are promoted and an old week is replayed: it keeps alerting on matching
messages, each alert decided by the newest promoted model, without a restart; a message re-sent three
times alerts once; stopping it saves its state and reports what it wrote to Dagster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from flink import kafka_io
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC, Settings
from reasonlake.synthetic import SyntheticSpec, generate, incoming
from reasonlake.weekly import dagster_home, materialize_week
from reasons.election.policy import POLICY_FILE
from reasons.topics.artifact import TopicArtifact, current_artifact_path
from services import broker as broker_mod

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]


def alerts_so_far(bootstrap: str) -> list[dict]:
    return [json.loads(r.value) for r in kafka_io.consume(bootstrap, [ALERTS_TOPIC], max_idle_s=1.0)]


def wait_for_alerts(bootstrap: str, seen: int, at_least: int, timeout_s: float = 120.0) -> list[dict]:
    """The alerts that arrived after the first ``seen`` ones, once there are ``at_least`` of them and no
    more came for a few seconds (a round's alerts all arrive before the next round starts)."""
    deadline = time.monotonic() + timeout_s
    count, stable_since = -1, time.monotonic()
    while True:
        new = [a for a in alerts_so_far(bootstrap)[seen:] if a["kind"] == "alert"]
        if len(new) != count:
            count, stable_since = len(new), time.monotonic()
        if (len(new) >= at_least and time.monotonic() - stable_since >= 5) or time.monotonic() > deadline:
            return new
        time.sleep(1)


def test_one_alert_job_keeps_alerting_across_promotions_and_a_replay(tmp_path):
    # the synthetic weeks lie in the past: give their elections a long validity (staleness is
    # tested in tests/unit/test_live_reasons.py and tests/integration/test_weekly_graph_generated_marts.py)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_FILE.read_text().replace("valid_weeks: 2", "valid_weeks: 520"))
    settings = Settings(home=tmp_path / "home", policy_file=policy)  # the default (durable s3) broker storage
    settings.ensure_dirs()
    info = broker_mod.start(settings)
    intake = info.intake  # where platforms send and readers (the jobs, this test) read
    job = None
    try:
        records, truth = generate(SyntheticSpec(messages=1800, weeks=3, seed=11, invalid_rate=0.0))
        kafka_io.produce(intake, ((r.topic, r.value) for r in records))
        exe = str(Path(sys.executable).with_name("reasonlake"))
        home = ["--home", str(settings.home)]
        subprocess.run(
            [exe, *home, "ingest", "--until-idle", "6", "--flush-interval", "2"],
            check=True,
            env=settings.child_env(),
            timeout=600,
        )
        first, second, third = truth.weeks
        assert materialize_week(settings, first).success

        log = open(tmp_path / "alerts.log", "wb")  # noqa: SIM115 (closed with the job)
        job = subprocess.Popen(
            # no rate limit here: four rounds of fresh complaints land within one window, and a limit of
            # 20 per reason and minute once left the last round 2 alerts (the limit: test_alert_job.py)
            [exe, *home, "alerts", "--reload-interval", "1", "--max-alerts-per-reason", "100000"],
            env=settings.child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # (in process mode the job's Python side starts with the first record: nothing to wait for here)

        def round_of_alerts(seed: int, expected_version: str) -> list[dict]:
            seen = len(alerts_so_far(intake))
            fresh, _ = incoming(100, seed=seed, now=datetime.now(UTC), surge_issue=truth.surge["issue"])
            kafka_io.produce(intake, ((r.topic, r.value) for r in fresh))
            ids = {r.message_id for r in fresh}
            wait_for_alerts(intake, seen, at_least=3)
            new = [a for a in alerts_so_far(intake) if a["kind"] == "alert" and a["message_id"] in ids]
            assert job.poll() is None, (tmp_path / "alerts.log").read_text()[-3000:]
            assert len(new) >= 3, (tmp_path / "alerts.log").read_text()[-3000:]
            versions = {(a["model_version"], a["message_id"], a["alerted_at"]) for a in new}
            assert {a["model_version"] for a in new} == {expected_version}, (expected_version, versions)
            return new

        def live_version() -> str:
            return TopicArtifact.load(current_artifact_path(settings)).model_version

        round_of_alerts(101, live_version())
        for seed, week in ((102, second), (103, third)):  # two weekly promotions while the job runs
            assert materialize_week(settings, week).success
            time.sleep(3)  # the job polls the live reasons every second
            round_of_alerts(seed, live_version())
        newest = live_version()
        assert materialize_week(settings, first).success  # an old week replayed: history only
        time.sleep(3)
        last = round_of_alerts(201, newest)

        # a message re-sent three times alerts once
        fresh = {
            r.message_id: r for r in incoming(100, seed=201, now=datetime.now(UTC), surge_issue=truth.surge["issue"])[0]
        }
        alerted = next(a for a in last if a["message_id"] in fresh)
        original = fresh[alerted["message_id"]]
        kafka_io.produce(intake, [(original.topic, original.value)] * 3)
        time.sleep(8)
        same = [a for a in alerts_so_far(intake) if a.get("message_id") == alerted["message_id"]]
        assert len(same) == 1, same
    finally:
        try:
            if job is not None and job.poll() is None:
                os.kill(job.pid, signal.SIGINT)  # Ctrl-C to the driver: the job stops with a savepoint
                try:
                    code = job.wait(timeout=180)
                except subprocess.TimeoutExpired:
                    os.killpg(job.pid, signal.SIGKILL)
                    raise
                output = (tmp_path / "alerts.log").read_text()
                assert code == 0 and "state saved: file:" in output, output[-3000:]
                # and Dagster sees what it wrote: alerts/alerts materialized with every alert of the table
                assert "alert-writer commit(s) reported to Dagster (alerts/alerts)" in output, output[-3000:]
                with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
                    event = instance.get_latest_materialization_event(AssetKey(["alerts", "alerts"]))
                    reported = event.asset_materialization.metadata["dagster/row_count"].value
                rows = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts", selected_fields=("alert_id",))
                assert reported == rows.num_rows > 0
        finally:  # the broker stops even when the job did not (later tests must not find it running)
            broker_mod.stop(settings)
