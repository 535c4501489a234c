"""Installing an engine's Debian package for a test (the commands never install OS packages: the set-up
script's ``--engines`` or this fixture helper does). Only the package's absence (no apt-get, not root, apt
cannot install it) skips a test, saying which; an engine that is installed and fails to start fails it."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from services.packages import DEBIAN_PACKAGES


class PackageUnavailable(Exception):
    """The Debian package cannot be installed on this machine (the message says why)."""


def install(program: str, find: Callable[[], str | None] | None = None, package: str | None = None) -> str:
    """The path of ``program`` (``find()``, default: on PATH), installing its Debian package (``package``,
    default: the one :data:`services.packages.DEBIAN_PACKAGES` names) first when it is missing;
    :class:`PackageUnavailable` when it cannot be installed here."""
    package = package or DEBIAN_PACKAGES[program]
    find = find or (lambda: shutil.which(program))
    found = find()
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise PackageUnavailable(
            f"{program} is missing and {package} cannot be installed here (needs apt-get, as root)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get (not ours) holding dpkg's lock: wait for it

    def apt(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["apt-get", *wait, *args], capture_output=True, text=True, env=env)

    # One install at a time among the test processes (pytest-xdist workers); the one that waited finds the
    # program the other installed.
    with open(Path(tempfile.gettempdir()) / "reasonlake-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find()
        if found:
            return found
        proc = apt("install", "-y", "-q", package)
        if proc.returncode != 0:  # stale package lists: update them, then once more
            apt("update", "-q")
            proc = apt("install", "-y", "-q", package)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PackageUnavailable(f"apt-get install {package} failed: {tail[0]}")
    found = find()
    if not found:
        raise PackageUnavailable(f"apt-get installed {package} but {program} is still not found")
    return found


def install_or_skip(program: str, find: Callable[[], str | None] | None = None) -> str:
    """:func:`install`, skipping the test (saying which package and why) when the package is unavailable."""
    try:
        return install(program, find)
    except PackageUnavailable as exc:
        pytest.skip(f"OS package unavailable: {exc}")
