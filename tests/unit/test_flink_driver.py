"""The Flink driver's dealings with its JVM: starting PyFlink's Java gateway (a JVM that exits before
handing over its port is one typed error with the JVM's reason), and stopping a job with
a savepoint (the path taken, or None, for the caller to cancel, when it is not taken in time). The Java
side is replaced by doubles shaped like py4j's objects."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from flink import runtime
from flink.errors import GatewayStartError
from lake.settings import FLINK_LOCATION_VARS


class _Future:
    def __init__(self, outcome: str | Exception) -> None:
        self.outcome, self.waited = outcome, None

    def get(self, timeout, unit):
        self.waited = (timeout, unit)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class _JobClient:
    def __init__(self, future: _Future) -> None:
        self.future, self.calls = future, []

    def stopWithSavepoint(self, drain, directory, format_type):  # the Java method's name
        self.calls.append((drain, directory, format_type))
        return self.future


@pytest.fixture
def gateway(monkeypatch):
    jvm = SimpleNamespace(
        org=SimpleNamespace(
            apache=SimpleNamespace(
                flink=SimpleNamespace(
                    core=SimpleNamespace(execution=SimpleNamespace(SavepointFormatType=SimpleNamespace(CANONICAL="C")))
                )
            )
        ),
        java=SimpleNamespace(util=SimpleNamespace(concurrent=SimpleNamespace(TimeUnit=SimpleNamespace(SECONDS="s")))),
    )
    monkeypatch.setattr(runtime, "get_gateway", lambda: SimpleNamespace(jvm=jvm))


def test_the_savepoint_path_comes_back_without_draining(gateway) -> None:
    future = _Future("file:/sp/savepoint-1")
    client = SimpleNamespace(_j_job_client=_JobClient(future))
    assert runtime._stop_with_savepoint(client, "file:/sp", timeout_s=7.9) == "file:/sp/savepoint-1"
    assert client._j_job_client.calls == [(False, "file:/sp", "C")] and future.waited == (7, "s")


def test_a_savepoint_not_taken_in_time_is_none_and_says_why(gateway, caplog) -> None:
    late = _Future(RuntimeError("java.util.concurrent.TimeoutException\n\tat ..."))
    client = SimpleNamespace(_j_job_client=_JobClient(late))
    with caplog.at_level(logging.WARNING, logger=runtime.log.name):
        assert runtime._stop_with_savepoint(client, "file:/sp", timeout_s=1) is None
    assert late.waited == (1, "s")
    assert caplog.messages == ["stop with savepoint failed (java.util.concurrent.TimeoutException): cancelling"]


EXITED = (
    "Java gateway process exited before sending its port number.\nStderr:\nWARNING: Unknown module: jdk.proxy2\n"
    'Exception in thread "main" java.util.concurrent.ExecutionException: java.lang.RuntimeException: no port\n'
    "\tat java.base/java.util.concurrent.CompletableFuture.reportGet(CompletableFuture.java:396)\n"
    "Caused by: java.lang.RuntimeException: Could not find a free permitted port on the machine.\n"
)


def _launches(monkeypatch, outcomes: list) -> list:
    calls: list = []

    def get_gateway():
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(runtime, "get_gateway", get_gateway)
    return calls


def test_a_gateway_that_exits_before_its_port_is_one_typed_error_with_the_jvms_reason(monkeypatch) -> None:
    for key in FLINK_LOCATION_VARS:  # an earlier in-process PyFlink run may have set them for real
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FLINK_LIB_DIR", "/gone/lib")  # what the JVM's class path came from: told
    _launches(monkeypatch, [RuntimeError(EXITED)])
    with pytest.raises(GatewayStartError) as raised:
        runtime.start_gateway()
    assert str(raised.value) == (
        "PyFlink's Java gateway did not start: "
        "Caused by: java.lang.RuntimeException: Could not find a free permitted port on the machine. "
        "(FLINK_LIB_DIR=/gone/lib)"
    )
    # without a Caused-by line, the exception in main is the reason
    assert runtime._jvm_reason(EXITED.split("Caused by")[0]).startswith('Exception in thread "main"')
    assert _launches(monkeypatch, ["gateway"]) == [] and runtime.start_gateway() == "gateway"


def test_other_gateway_errors_pass_through(monkeypatch) -> None:
    _launches(monkeypatch, [RuntimeError("It's launching the PythonGatewayServer during Python UDF execution")])
    with pytest.raises(RuntimeError, match="during Python UDF execution") as raised:
        runtime.start_gateway()
    assert not isinstance(raised.value, GatewayStartError)
