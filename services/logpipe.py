"""A local process's log writer: reads the process's output from its stdin and appends it to one log file,
rotating it past a size by rename-and-reopen (``x.log`` → ``x.log.1`` → ``x.log.2`` …, the newest ``keep``
rotations kept). The writer is the only one holding the file, so a rotation loses no line however fast the
program writes (Apache's ``rotatelogs`` does the same). Started by :func:`services.process.spawn`::

    python -m services.logpipe LOG [--max-bytes N] [--keep K]

It exits when the pipe closes: when the program and every process it started have exited.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
KEEP = 3
CHUNK = 64 * 1024


def rotations(path: Path, keep: int) -> list[Path]:
    """The log's files oldest first: ``x.log.<keep>`` … ``x.log.1``, ``x.log`` (those that exist)."""
    files = [path.with_name(f"{path.name}.{n}") for n in range(keep, 0, -1)] + [path]
    return [f for f in files if f.exists()]


class RotatingLog:
    """Appends to ``path``; once it holds more than ``max_bytes`` and a write ended a line, it is renamed to
    ``path.1`` (older rotations shifted, the oldest past ``keep`` dropped) and a new ``path`` is opened."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        if keep < 1 or max_bytes < 1:
            raise ValueError("--keep and --max-bytes must be at least 1")
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "ab")  # noqa: SIM115 (lives as long as the writer)
        self.size = self.file.tell()

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.file.flush()
        self.size += len(data)
        if self.size > self.max_bytes and data.endswith(b"\n"):
            self.rotate()

    def rotate(self) -> None:
        self.file.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.file = open(self.path, "ab")  # noqa: SIM115
        self.size = 0

    def close(self) -> None:
        self.file.close()


def pump(fd: int, log: RotatingLog) -> None:
    """Copy everything readable from ``fd`` into ``log`` until end of file."""
    while chunk := os.read(fd, CHUNK):
        try:
            log.write(chunk)
        except OSError:  # a full disk: drop this chunk, keep the pipe drained so the program never blocks
            continue
    log.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="append stdin to a log file, rotated by rename-and-reopen")
    parser.add_argument("log", type=Path)
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES)
    parser.add_argument("--keep", type=int, default=KEEP)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stop at end of input: the program's last lines still land
    pump(0, RotatingLog(args.log, args.max_bytes, args.keep))


if __name__ == "__main__":
    main()
