"""The operating-system programs some engines need (Redis, PostgreSQL: Debian packages). The set-up script
(``make setup-engines``: scripts/setup-engines.sh) or a test fixture installs them; a command that finds one missing says so in
one line and installs nothing itself."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from services.errors import MissingProgramError

# the program an engine runs → the Debian package that ships it
DEBIAN_PACKAGES = {"redis-server": "redis-server", "initdb": "postgresql"}


def require(program: str, find: Callable[[], str | None] | None = None) -> str:
    """The path of ``program`` (``find()``, default: on PATH); :class:`MissingProgramError` when it is missing."""
    found = (find or (lambda: shutil.which(program)))()
    if found:
        return found
    package = DEBIAN_PACKAGES[program]
    raise MissingProgramError(
        f"{program} is not installed: install the Debian package {package} (`make setup-engines`, or "
        f"`apt-get install {package}` as root)"
    )
