"""Stopping a job with a savepoint: the path taken, or None (the caller then cancels) when the savepoint
is not taken in time or fails. The Java side is replaced by doubles shaped like py4j's objects."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from flink import runtime


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
