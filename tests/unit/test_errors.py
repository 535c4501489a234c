"""A failed command ends in one line and a documented exit code (reasonlake.errors); --debug shows the
traceback. Each failure is the real one the command meets (no service is running here)."""

import subprocess
import sys

import pytest

from flink.errors import GatewayStartError, JobFailedError
from reasonlake import errors
from reasonlake.cli import cli
from reasons.election.policy import PolicyError
from reasons.marts import MartNotBuiltError
from tests.support.paths import REPO

REASONLAKE = [sys.executable, "-m", "reasonlake"]


def _run(args, capsys) -> tuple[int, str]:
    code = errors.run(cli, args)
    captured = capsys.readouterr()
    return code, captured.err


def test_an_invalid_setting_is_a_configuration_error(tmp_path):
    done = subprocess.run(
        [*REASONLAKE, "--home", str(tmp_path), "status"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "REASONLAKE_FLINK_PARALLELISM": "two"},
        timeout=120,
    )
    assert done.returncode == errors.CONFIGURATION, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("reasonlake: configuration:") and "REASONLAKE_FLINK_PARALLELISM" in line
    assert "Traceback" not in done.stderr


def test_alerts_before_the_first_weekly_run_is_a_data_error(tmp_path, capsys):
    code, err = _run(["--home", str(tmp_path), "--bootstrap-servers", "127.0.0.1:9", "alerts"], capsys)
    assert code == errors.DATA, err
    [line] = err.strip().splitlines()
    assert line.startswith("reasonlake: data:") and "reasonlake weekly" in line


def test_the_broker_down_is_service_unavailable(tmp_path, capsys):
    code, err = _run(["--home", str(tmp_path), "ingest", "--until-idle", "1"], capsys)
    assert code == errors.UNAVAILABLE, err
    [line] = err.strip().splitlines()
    assert line.startswith("reasonlake: broker:") and "reasonlake up" in line


def test_produce_with_the_broker_down_is_service_unavailable(tmp_path, capsys):
    messages = tmp_path / "m.jsonl"
    messages.write_text('{"message_id": "1", "source": "crm", "text": "hi", "created_at": "2026-01-05T10:00:00Z"}\n')
    code, err = _run(["--home", str(tmp_path / "home"), "produce", "--file", str(messages)], capsys)
    assert code == errors.UNAVAILABLE, err
    assert len(err.strip().splitlines()) == 1 and "reasonlake up" in err


def test_a_missing_mart_is_a_data_error_and_an_audit_of_an_unknown_table_too(tmp_path, capsys):
    code, err = _run(["--home", str(tmp_path), "audit", "select * from nowhere.nothing"], capsys)
    assert code == errors.DATA, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("reasonlake: ")


@pytest.mark.parametrize("sql", ["selec 1", "drop table raw.feedback", "select 1; select 2"])
def test_an_audit_query_that_is_not_one_read_only_query_says_what_an_audit_takes(tmp_path, capsys, sql):
    code, err = _run(["--home", str(tmp_path), "audit", sql], capsys)
    assert code == errors.DATA and len(err.strip().splitlines()) == 1, err
    assert err.startswith("reasonlake: audit: ") and "one read-only query over namespace.table" in err


def test_usage_errors_keep_clicks_exit_code(tmp_path, capsys):
    code, err = _run(["--home", str(tmp_path), "ingest", "--batch-size", "0"], capsys)
    assert code == errors.USAGE and "Invalid value" in err


def test_an_unexpected_failure_is_internal_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    from reasonlake.cli import system

    def boom(*_, **__):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(system, "settings_of", boom)
    code, err = _run(["--home", str(tmp_path), "status"], capsys)
    assert code == errors.INTERNAL and "internal error: a bug" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        errors.run(cli, ["--debug", "--home", str(tmp_path), "status"])


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConnectionRefusedError("refused"), errors.UNAVAILABLE),
        (JobFailedError("the ingest job failed: see its log"), errors.UNAVAILABLE),
        (GatewayStartError("PyFlink's Java gateway did not start: Caused by: x"), errors.UNAVAILABLE),
        (MartNotBuiltError("no marts"), errors.DATA),
        (PolicyError("policy.yaml: top_k must be an integer"), errors.CONFIGURATION),
        (FileNotFoundError("x.json"), errors.DATA),
        (RuntimeError("?"), errors.INTERNAL),
    ],
)
def test_every_failure_maps_to_one_documented_code(exc, code):
    got, line = errors.one_line(exc)
    assert got == code and "\n" not in line


@pytest.mark.parametrize("command", [["docs"], ["ui"], ["serve"]])
def test_a_server_on_a_busy_port_is_service_unavailable(tmp_path, capsys, command):
    """`docs` used to print dbt's traceback and exit 0 when its port was taken; every server command
    now checks its port first."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, err = _run(["--home", str(tmp_path), *command, "--port", str(port)], capsys)
    assert code == errors.UNAVAILABLE, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"reasonlake: port {port} on 127.0.0.1 is not free") and "--port" in line
