"""Settings: one typed configuration, CLI flag > environment > default, invalid values in one line."""

import pytest

from dagster_project.resources import ReasonlakeResource
from lake.settings import ENV_VARS, Settings, SettingsError
from reasonlake.cli import cli


def test_defaults_are_embedded_and_under_home(tmp_path):
    s = Settings.from_env({"REASONLAKE_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.bootstrap_servers is None
    props = s.catalog_properties()
    assert props["type"] == "sql" and props["uri"] == f"sqlite:///{tmp_path}/catalog.db"
    assert props["warehouse"] == (tmp_path / "warehouse").as_uri()


def test_scale_out_parts_are_configuration_only(tmp_path):
    env = {
        "REASONLAKE_HOME": str(tmp_path),
        "REASONLAKE_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
        "REASONLAKE_CATALOG_URI": "http://rest:8181",
        "REASONLAKE_CATALOG_WAREHOUSE": "s3://bucket/wh",
        "REASONLAKE_CATALOG_PROPERTIES": '{"s3.endpoint": "http://minio:9000"}',
        "REASONLAKE_ONLINE_STORE": "redis://redis:6379",
        "REASONLAKE_FLINK_ADDRESS": "jm:8081",
    }
    s = Settings.from_env(env)
    assert s.catalog_properties() == {
        "type": "rest",
        "uri": "http://rest:8181",
        "warehouse": "s3://bucket/wh",
        "s3.endpoint": "http://minio:9000",
    }
    assert (s.bootstrap_servers, s.online_store, s.flink_address) == (
        "k1:9092,k2:9092",
        "redis://redis:6379",
        "jm:8081",
    )
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
    for key, value in {
        "PYFLINK_GATEWAY_DISABLED": "true",
        "PYTHONPATH": "/tmp/pyflink/x",
        "_PYTHON_WORKING_DIR": "/tmp/pyflink/w",
        "BOOT_LOG_DIR": "/tmp/log",
    }.items():
        monkeypatch.setenv(key, value)
    leaked = settings.child_env()
    assert not {"PYFLINK_GATEWAY_DISABLED", "PYTHONPATH", "_PYTHON_WORKING_DIR", "BOOT_LOG_DIR"} & set(leaked)
    assert leaked["KEEP_ME"] == "1" and leaked["REASONLAKE_HOME"] == str(tmp_path)
    # a standalone TaskManager's worker brings the empty JAVA_HOME Flink's scripts exported
    monkeypatch.setenv("JAVA_HOME", "")
    assert "JAVA_HOME" not in settings.child_env()
    monkeypatch.setenv("JAVA_HOME", "/usr/lib/jvm/mine")
    assert settings.child_env()["JAVA_HOME"] == "/usr/lib/jvm/mine"
    # Flink's folders of another Flink (PyFlink writes FLINK_HOME into any process that started a gateway)
    monkeypatch.setenv("FLINK_HOME", "/gone/pyflink")
    monkeypatch.setenv("FLINK_LIB_DIR", "/gone/cluster/lib")
    child = settings.child_env(FLINK_CONF_DIR="/cluster/conf")
    assert "FLINK_HOME" not in child and "FLINK_LIB_DIR" not in child and child["FLINK_CONF_DIR"] == "/cluster/conf"


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("REASONLAKE_BROKER_STORAGE", "disk", "expected one of s3, memory"),
        ("REASONLAKE_EMBEDDING_BACKEND", "gpu", "expected one of fp32, int8-onnx"),
        ("REASONLAKE_ONLINE_STORE", "postgres", "expected 'sqlite' or 'redis://host[:port][/db]'"),
        ("REASONLAKE_FLINK_PARALLELISM", "two", "expected an integer of at least 1"),
        ("REASONLAKE_FLINK_PARALLELISM", "0", "expected an integer of at least 1"),
        ("REASONLAKE_FLINK_PYTHON_MODE", "threads", "expected one of process, thread"),
        ("REASONLAKE_FLINK_ADDRESS", "jobmanager", "expected host:port"),
        ("REASONLAKE_CATALOG_URI", "catalog.db", "expected http(s)://"),
        ("REASONLAKE_CATALOG_PROPERTIES", "[1, 2]", "expected a JSON object"),
    ],
)
def test_an_invalid_value_is_one_line_naming_the_variable_and_what_it_accepts(variable, value, accepted):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable}={value!r} is not valid: ") and accepted in message
    assert "\n" not in message


def test_a_flag_beats_the_environment_and_is_named_when_invalid(tmp_path):
    env = {"REASONLAKE_HOME": "/from/the/environment", "REASONLAKE_BOOTSTRAP_SERVERS": "env:9092"}
    s = Settings.from_env(env, home=tmp_path, bootstrap_servers="flag:9092")
    assert (s.home, s.bootstrap_servers) == (tmp_path, "flag:9092")
    assert Settings.from_env(env).home.as_posix() == "/from/the/environment"  # environment > default
    assert Settings.from_env({}).broker_storage == "s3"  # default
    with pytest.raises(SettingsError, match=r"^--flink-parallelism='x' is not valid"):
        Settings.from_env({}, flink_parallelism="x")


def test_the_cli_refuses_an_invalid_variable_in_one_line(tmp_path, monkeypatch, capsys):
    from reasonlake import errors

    monkeypatch.setenv("REASONLAKE_BROKER_STORAGE", "disk")
    code = errors.run(cli, ["--home", str(tmp_path), "status"])
    err = capsys.readouterr().err
    assert code == errors.CONFIGURATION
    [line] = err.strip().splitlines()
    assert "REASONLAKE_BROKER_STORAGE='disk' is not valid: expected one of s3, memory" in line
    assert "Traceback" not in err


def test_every_setting_round_trips_through_the_environment_and_the_dagster_resource(tmp_path):
    s = Settings.from_env(
        {
            "REASONLAKE_HOME": str(tmp_path),
            "REASONLAKE_BROKER_STORAGE": "memory",
            "REASONLAKE_FLINK_PARALLELISM": "4",
            "REASONLAKE_CATALOG_PROPERTIES": '{"s3.endpoint": "http://127.0.0.1:9000"}',
            "REASONLAKE_ONLINE_STORE": "redis://127.0.0.1:6379/2",
            "REASONLAKE_EMBEDDING_BACKEND": "int8-onnx",
        }
    )
    assert set(s.to_env()) == set(ENV_VARS.values())
    assert Settings.from_env(s.to_env()) == s
    assert ReasonlakeResource.from_settings(s).settings() == s
    assert Settings.from_strings(s.to_strings()) == s


def test_the_ui_resource_binds_every_field_to_its_variable():
    resource = ReasonlakeResource.from_env_vars()
    bound = {name: getattr(resource, name) for name in ENV_VARS}
    assert {name: value.env_var_name for name, value in bound.items()} == ENV_VARS
