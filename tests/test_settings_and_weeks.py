from datetime import datetime, timezone

import pytest

from lake.settings import Settings
from lake.weeks import (last_complete_week, parse_week, partition_key_to_week, shift_week, week_bounds,
                        week_of, week_to_partition_key)


def test_defaults_are_embedded_and_under_home(tmp_path):
    s = Settings.from_env({"REASONLAKE_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.bootstrap_servers is None
    props = s.catalog_properties()
    assert props["type"] == "sql" and props["uri"] == f"sqlite:///{tmp_path}/catalog.db"
    assert props["warehouse"] == (tmp_path / "warehouse").as_uri()


def test_scale_out_parts_are_configuration_only(tmp_path):
    env = {"REASONLAKE_HOME": str(tmp_path), "REASONLAKE_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
           "REASONLAKE_CATALOG_URI": "http://rest:8181", "REASONLAKE_CATALOG_WAREHOUSE": "s3://bucket/wh",
           "REASONLAKE_CATALOG_PROPERTIES": '{"s3.endpoint": "http://minio:9000"}',
           "REASONLAKE_ONLINE_STORE": "redis://redis:6379", "REASONLAKE_FLINK_ADDRESS": "jm:8081"}
    s = Settings.from_env(env)
    assert s.catalog_properties() == {"type": "rest", "uri": "http://rest:8181", "warehouse": "s3://bucket/wh",
                                      "s3.endpoint": "http://minio:9000"}
    assert (s.bootstrap_servers, s.online_store, s.flink_address) == ("k1:9092,k2:9092", "redis://redis:6379", "jm:8081")
    assert Settings.from_env(s.to_env()) == s


def test_overrides_win_over_environment(tmp_path):
    s = Settings.from_env({"REASONLAKE_HOME": "/elsewhere"}, home=tmp_path)
    assert s.home == tmp_path


def test_child_env_drops_what_an_in_process_pyflink_worker_leaked(tmp_path, monkeypatch):
    settings = Settings.from_env({}, home=tmp_path)
    # an in-process PyFlink test earlier in this session may have leaked it for real
    monkeypatch.delenv("PYFLINK_GATEWAY_DISABLED", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/users/own/path")
    monkeypatch.setenv("KEEP_ME", "1")
    plain = settings.child_env(EXTRA="x")
    assert plain["PYTHONPATH"] == "/users/own/path" and plain["KEEP_ME"] == "1" and plain["EXTRA"] == "x"
    assert plain["REASONLAKE_HOME"] == str(tmp_path)
    # what PyFlink's loopback worker copies into os.environ after a job ran in this process
    for key, value in {"PYFLINK_GATEWAY_DISABLED": "true", "PYTHONPATH": "/tmp/pyflink/x",
                       "_PYTHON_WORKING_DIR": "/tmp/pyflink/w", "BOOT_LOG_DIR": "/tmp/log"}.items():
        monkeypatch.setenv(key, value)
    leaked = settings.child_env()
    assert not {"PYFLINK_GATEWAY_DISABLED", "PYTHONPATH", "_PYTHON_WORKING_DIR", "BOOT_LOG_DIR"} & set(leaked)
    assert leaked["KEEP_ME"] == "1" and leaked["REASONLAKE_HOME"] == str(tmp_path)


def test_iso_weeks():
    assert week_of(datetime(2026, 11, 22, tzinfo=timezone.utc)) == "2026-W47"
    assert last_complete_week(datetime(2026, 11, 22, 23, tzinfo=timezone.utc)) == "2026-W46"
    assert last_complete_week(datetime(2026, 11, 23, 0, 1, tzinfo=timezone.utc)) == "2026-W47"
    start, end = week_bounds("2026-W01")
    assert start == datetime(2025, 12, 29, tzinfo=timezone.utc) and (end - start).days == 7
    assert shift_week("2026-W01", -1) == "2025-W52"
    assert partition_key_to_week(week_to_partition_key("2026-W46")) == "2026-W46"
    for bad in ("2026-46", "2025-W53", "W46"):
        with pytest.raises(ValueError):
            parse_week(bad)
