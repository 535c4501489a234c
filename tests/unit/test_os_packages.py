"""Installing a missing Debian package: one install at a time among the project's processes."""

import fcntl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from flink import broker
from reasonlake import engines


def test_a_caller_waiting_on_another_install_finds_the_program_and_runs_no_apt_get(monkeypatch):
    if not hasattr(fcntl, "flock"):
        pytest.skip("no flock here")
    installed = threading.Event()
    calls: list[list[str]] = []
    monkeypatch.setattr(engines.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engines.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "E: should not run")

    monkeypatch.setattr(engines.subprocess, "run", run)
    found: list[str] = []
    with open(Path(tempfile.gettempdir()) / "reasonlake-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # "another process" is installing
        waiter = threading.Thread(
            target=lambda: found.append(
                engines.ensure_debian_package(
                    "fake-server", "fake", find=lambda: "/usr/bin/fake-server" if installed.is_set() else None
                )
            )
        )
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and not calls  # it waits for the lock rather than running apt-get
        installed.set()  # the other install finishes, then releases the lock
    waiter.join(timeout=10)
    assert found == ["/usr/bin/fake-server"]
    assert calls == []


def test_a_failed_install_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setattr(engines.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engines.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    calls: list[list[str]] = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 100, "", "Reading package lists...\nE: Unable to locate package fake")

    monkeypatch.setattr(engines.subprocess, "run", run)
    with pytest.raises(engines.EngineError, match=r"^apt-get install fake failed: E: Unable to locate package fake$"):
        engines.ensure_debian_package("fake-server", "fake", find=lambda: None)
    # install, then (stale lists) update and install once more; each waits for another apt-get's lock
    assert [c[c.index("DPkg::Lock::Timeout=600") + 1] for c in calls] == ["install", "update", "install"]


def test_a_port_probed_for_a_server_not_listening_yet_is_not_handed_out_again(monkeypatch):
    """The Flink cluster's RPC and REST ports are probed one after the other before it starts: a probe's
    port is free again once the probe closes, and the second probe may be handed it."""
    handed = iter([5000, 5000, 5000, 5001])

    class Probe:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def bind(self, _address):
            self.port = next(handed)

        def getsockname(self):
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(broker.socket, "socket", lambda *a, **k: Probe())
    first = broker.free_port()
    assert (first, broker.free_port(avoid={first})) == (5000, 5001)
