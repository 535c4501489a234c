"""An engine that is installed but fails to start fails its tests; only an unavailable OS package skips.

The engine tests run here in a child pytest with a plugin that breaks the start: the program found for Redis
and PostgreSQL is ``/bin/false`` (installed, present, and never starts). Every one of their tests must end as a
failure or an error, none as skipped or passed."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.support.paths import REPO

BROKEN = '''
"""Breaks every engine start: the program found is /bin/false."""
from services import packages
from tests.support import os_packages

os_packages.install = lambda program, find=None, package=None: "/bin/false"
packages.require = lambda program, find=None: "/bin/false"
'''


def test_a_broken_engine_start_fails_its_tests_and_skips_none(tmp_path) -> None:
    (tmp_path / "broken_engines.py").write_text(BROKEN)
    report = tmp_path / "report.xml"
    tests = ["tests/integration/test_redis_online_store.py", "tests/integration/test_concurrent_commits.py"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "broken_engines",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "redis or postgresql",
        ]
        + ["-o", "addopts=", f"--junitxml={report}", *tests],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{REPO}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = {
        case.get("name"): next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        for case in cases
    }
    assert len(outcomes) >= 2, done.stdout[-2000:]
    assert set(outcomes.values()) <= {"failure", "error"}, outcomes
