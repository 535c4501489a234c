"""``python -m reasonlake``: the CLI."""

from reasonlake.cli import main

main()
