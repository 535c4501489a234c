"""Installing an engine's missing Debian package (tests/support/os_packages.py, the test fixtures' helper): one
install at a time among the test processes; a command that finds it missing says so and installs nothing."""

import fcntl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from services import packages
from services.errors import MissingProgramError
from tests.support import os_packages


def test_a_caller_waiting_on_another_install_finds_the_program_and_runs_no_apt_get(monkeypatch):
    installed = threading.Event()
    calls: list[list[str]] = []
    monkeypatch.setattr(os_packages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(os_packages.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "E: should not run")

    monkeypatch.setattr(os_packages.subprocess, "run", run)
    found: list[str] = []
    with open(Path(tempfile.gettempdir()) / "reasonlake-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # "another process" is installing
        waiter = threading.Thread(
            target=lambda: found.append(
                os_packages.install(
                    "fake-server", find=lambda: "/usr/bin/fake-server" if installed.is_set() else None, package="fake"
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
    monkeypatch.setattr(os_packages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(os_packages.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    calls: list[list[str]] = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 100, "", "Reading package lists...\nE: Unable to locate package fake")

    monkeypatch.setattr(os_packages.subprocess, "run", run)
    with pytest.raises(
        os_packages.PackageUnavailable, match=r"^apt-get install fake failed: E: Unable to locate package fake$"
    ):
        os_packages.install("fake-server", find=lambda: None, package="fake")
    # install, then (stale lists) update and install once more; each waits for another apt-get's lock
    assert [c[c.index("DPkg::Lock::Timeout=600") + 1] for c in calls] == ["install", "update", "install"]


def test_a_command_finding_a_program_missing_says_which_package_in_one_line_and_installs_nothing(monkeypatch):
    ran: list = []
    monkeypatch.setattr(os_packages.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(MissingProgramError) as raised:
        packages.require("redis-server", find=lambda: None)
    assert str(raised.value) == (
        "redis-server is not installed: install the Debian package redis-server (`make setup-engines`, or "
        "`apt-get install redis-server` as root)"
    )
    assert ran == []
    assert packages.require("initdb", find=lambda: "/usr/lib/postgresql/15/bin/initdb").endswith("initdb")


def test_an_unavailable_package_skips_saying_which(monkeypatch):
    monkeypatch.setattr(os_packages.os, "geteuid", lambda: 1000)  # not root: apt-get cannot install
    monkeypatch.setattr(os_packages.shutil, "which", lambda name: None)
    with pytest.raises(
        pytest.skip.Exception, match=r"OS package unavailable: redis-server is missing and redis-server"
    ):
        os_packages.install_or_skip("redis-server")
