"""The ``reasonlake`` command line, one module per command group: the home's services
(:mod:`reasonlake.cli.system`), the stream (:mod:`reasonlake.cli.stream`), the weekly graph
(:mod:`reasonlake.cli.weekly`), the lake (:mod:`reasonlake.cli.lake`), serving and tools
(:mod:`reasonlake.cli.tools`), checking and steering the reasons (:mod:`reasonlake.cli.evaluate`,
:mod:`reasonlake.cli.reasons`, :mod:`reasonlake.cli.backtest`). Heavy imports happen inside each command so
``--help`` stays fast."""

from __future__ import annotations

import sys

from reasonlake.cli import backtest, evaluate, lake, reasons, stream, system, tools, weekly  # noqa: F401 (each registers its commands)
from reasonlake.cli.group import cli

__all__ = ["cli", "main"]


def main() -> None:
    """The ``reasonlake`` command: a failure ends in one line and a documented exit code
    (:mod:`reasonlake.errors`); ``--debug`` shows the traceback instead."""
    from reasonlake.errors import run

    sys.exit(run(cli, sys.argv[1:]))


if __name__ == "__main__":
    main()
