"""The living system's supervisor (services/supervisor.py) with a stand-in service, as real processes:
a supervisor that dies without stopping its services (SIGKILL, the out-of-memory killer) takes them with it,
each stopping as on Ctrl-C, rather than leaving them running beside the next ``reasonlake run``'s copies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flink import kafka_io
from lake.settings import Settings
from services import broker as broker_mod
from services.supervisor import state_file, supervisor_file

# a service that notes how it stopped: Ctrl-C (SIGINT, as ``reasonlake down`` stops it) or not at all
SERVICE = """
import sys, time
try:
    time.sleep(300)
except KeyboardInterrupt:
    open(sys.argv[1], "w").write("interrupted")
"""

SUPERVISOR = """
import sys
from lake.settings import Settings
from services.supervisor import ServiceSpec, Supervisor
settings = Settings(home=sys.argv[1])
Supervisor(settings, [ServiceSpec("stand-in", (sys.executable, "-c", sys.argv[2], sys.argv[3]))]).run()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie is gone


def test_a_killed_supervisor_takes_its_services_with_it(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    stopped = tmp_path / "stopped"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(settings.home), SERVICE, str(stopped)], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        pid = None
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if state_file(settings).exists():
                pid = json.loads(state_file(settings).read_text())["stand-in"]["pid"]
        assert pid is not None and _alive(pid), "the service did not start"
        time.sleep(1.0)  # it is sleeping in its try block

        supervisor.kill()  # no shutdown of its own: the kernel's parent-death signal must do it
        supervisor.wait(timeout=10)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(pid), "the service outlived its supervisor"
        assert stopped.read_text() == "interrupted"  # stopped as on Ctrl-C, not killed
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.slow
def test_the_embedded_broker_and_its_intake_are_started_again_when_they_exit(tmp_path) -> None:
    """``reasonlake up`` starts the broker and its intake outside the supervisor; a Tansu or an intake that
    dies (SIGKILL, the out-of-memory killer) is started again on its former port, so producers and readers
    reconnect where they were and what was stored before is still read."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    first = broker_mod.start(settings)
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(settings.home), SERVICE, str(tmp_path / "stopped")],
        start_new_session=True,
    )
    try:
        kafka_io.produce(first.intake, [("feedback.crm", b"before")])
        os.kill(first.intake_pid, signal.SIGKILL)
        _wait(lambda: (broker_mod.status(settings) or first).intake_pid != first.intake_pid, 30, "no new intake")
        second = broker_mod.status(settings)
        assert second is not None and second.intake == first.intake and second.pid == first.pid
        kafka_io.produce(second.intake, [("feedback.crm", b"after the intake died")])

        os.kill(second.pid, signal.SIGKILL)
        _wait(lambda: (broker_mod.status(settings) or second).pid != second.pid, 60, "no new broker")
        third = broker_mod.status(settings)
        assert third is not None and (third.bootstrap, third.intake) == (first.bootstrap, first.intake)
        kafka_io.produce(third.intake, [("feedback.crm", b"after the broker died")])
        read = [r.value for r in kafka_io.consume(third.intake, ["feedback.crm"], max_idle_s=3.0)]
        assert sorted(read) == sorted([b"before", b"after the intake died", b"after the broker died"])
        assert json.loads(supervisor_file(settings).read_text())["broker_restarts"] == 2
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=90)
        broker_mod.stop(settings)
    assert broker_mod.gone_parts(settings) == []  # stopped by `down`: nothing to start again
