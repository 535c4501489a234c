"""Job configuration, jars, and the rule that only the job shells import PyFlink."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from flink.errors import MissingJarsError
from flink.jars import JAR_NAMES, pipeline_jars
from flink.jobconfig import AlertJobConfig, BatchPolicy, IngestJobConfig
from lake.settings import Settings

PURE_MODULES = [
    "flink.contract",
    "services.broker",
    "flink.kafka_io",
    "flink.jars",
    "flink.jobconfig",
    "flink.progress",
    "flink.sink",
    "flink.watches",
    "flink.alerting",
    "flink.errors",
]


def test_pure_modules_import_without_pyflink() -> None:
    code = "import sys; sys.modules['pyflink'] = None\n" + "".join(f"import {m}\n" for m in PURE_MODULES)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_pipeline_jars_are_file_urls_of_installed_jars() -> None:
    urls = pipeline_jars()
    assert [u.rsplit("/", 1)[1] for u in urls] == list(JAR_NAMES)
    assert all(u.startswith("file://") and Path(u[len("file://") :]).is_file() for u in urls)


def test_missing_jars_say_how_to_fix(tmp_path) -> None:
    with pytest.raises(MissingJarsError, match="make setup"):
        pipeline_jars(prefix=tmp_path)


def test_configs_come_from_settings(settings) -> None:
    s = settings.replace(bootstrap_servers="k1:9092,k2:9092", flink_parallelism=3, flink_address="jm:8081")
    ingest = IngestJobConfig.from_settings(s)
    assert ingest.source.bootstrap_servers == "k1:9092,k2:9092"
    assert (ingest.runtime.parallelism, ingest.runtime.flink_address) == (3, "jm:8081")
    assert ingest.runtime.checkpoint_interval_s and ingest.fail_after_commits is None
    assert ingest.progress_dir == settings.run_dir / "ingest"
    assert ingest.runtime.checkpoint_dir == (settings.home / "checkpoints").as_uri()
    shared = Settings.from_env({**s.to_env(), "REASONLAKE_FLINK_CHECKPOINTS": "s3://ckpt/reasonlake"})
    assert IngestJobConfig.from_settings(shared).runtime.checkpoint_dir == "s3://ckpt/reasonlake"
    assert Settings.from_env(shared.to_env()).flink_checkpoints == "s3://ckpt/reasonlake"
    alerts = AlertJobConfig.from_settings(s, reload_interval_s=1.0)
    assert alerts.runtime.checkpoint_interval_s and alerts.reload_interval_s == 1.0
    assert alerts.alerts_topic == "feedback.alerts" and alerts.runtime.retain_checkpoints
    # the alert job's state (positions, pending batches, hygiene) has a folder of its own
    assert alerts.state_dir == alerts.runtime.checkpoint_dir == (settings.home / "checkpoints").as_uri() + "/alerts"
    assert alerts.runtime.python_bundle_size == 1  # latency-bound: one micro-batch per bundle
    assert alerts.run_id != AlertJobConfig.from_settings(s).run_id
    with pytest.raises(FrozenInstanceError):
        ingest.job_name = "x"  # type: ignore[misc]


def test_batch_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BatchPolicy(batch_size=0)
    with pytest.raises(ValueError):
        BatchPolicy(flush_interval_s=0)


def test_python_execution_mode_per_job_unless_the_settings_choose(tmp_path) -> None:
    from flink.jobconfig import FlinkRuntime
    from lake.settings import Settings

    plain = Settings(home=tmp_path, bootstrap_servers="kafka:9092")
    assert IngestJobConfig.from_settings(plain).runtime.python_mode == "thread"
    assert AlertJobConfig.from_settings(plain).runtime.python_mode == "process"  # loads torch: own worker
    chosen = Settings.from_env(
        {
            "REASONLAKE_HOME": str(tmp_path),
            "REASONLAKE_BOOTSTRAP_SERVERS": "kafka:9092",
            "REASONLAKE_FLINK_PYTHON_MODE": "process",
        }
    )
    assert IngestJobConfig.from_settings(chosen).runtime.python_mode == "process"
    assert Settings.from_env(chosen.to_env()).flink_python_mode == "process"
    with pytest.raises(ValueError, match="python_mode"):
        FlinkRuntime(python_mode="threads")


def test_the_contracts_maximum_age_is_a_setting(tmp_path) -> None:
    """An archive older than ten years is rejected by default and accepted once the setting allows it."""
    import json
    from datetime import UTC, datetime, timedelta

    from flink.contract import Accepted, KafkaEnvelope, Reason, Rejected, validate

    default = IngestJobConfig.from_settings(Settings(home=tmp_path), bootstrap_servers="x:1")
    archive = IngestJobConfig.from_settings(
        Settings.from_env({"REASONLAKE_CONTRACT_MAX_AGE_DAYS": "7300"}, home=tmp_path), bootstrap_servers="x:1"
    )
    assert default.limits.max_age == timedelta(days=3650) and archive.limits.max_age == timedelta(days=7300)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    body = {"message_id": "a1", "source": "crm", "text": "card blocked abroad", "created_at": "2015-02-17T12:00:00Z"}
    record = KafkaEnvelope(
        topic="feedback.crm", partition=0, offset=0, timestamp_ms=1_773_000_000_000, value=json.dumps(body).encode()
    )
    rejected = validate(record, now, default.limits)
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.TIMESTAMP_OUT_OF_RANGE
    assert isinstance(validate(record, now, archive.limits), Accepted)


def test_the_alert_jobs_fetch_wait_outlasts_the_s3_storages_listing(tmp_path) -> None:
    """On the embedded broker's s3 storage a fetch lists the partition's stored batches and answers nothing
    when that outlasts the wait (services/localbucket_server.py): Kafka's 500 ms there, 50 ms elsewhere."""
    from flink.jobconfig import S3_FETCH_MAX_WAIT_MS

    embedded = "127.0.0.1:9092"  # the embedded broker's address (not running here)
    s3 = Settings(home=tmp_path)
    assert AlertJobConfig.from_settings(s3, bootstrap_servers=embedded).source.fetch_max_wait_ms == 500
    assert S3_FETCH_MAX_WAIT_MS == 500
    memory = Settings(home=tmp_path, broker_storage="memory")
    assert AlertJobConfig.from_settings(memory, bootstrap_servers=embedded).source.fetch_max_wait_ms == 50
    external = Settings(home=tmp_path, bootstrap_servers="kafka:9092")
    assert AlertJobConfig.from_settings(external).source.fetch_max_wait_ms == 50
