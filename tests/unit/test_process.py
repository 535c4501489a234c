"""The one process helper (services/process.py) and the log writer it starts (services/logpipe.py): a log is
rotated by rename-and-reopen while its program writes without pause, and no line is lost or doubled."""

from __future__ import annotations

import sys
import time

from services import logpipe, process

# a program that writes numbered lines as fast as it can, never pausing, then exits
WRITER = """
import sys
for n in range(int(sys.argv[1])):
    sys.stdout.write(f"line {n:07d} " + "x" * 40 + "\\n")
sys.stdout.flush()
"""


def _read_all(log, keep):
    return b"".join(f.read_bytes() for f in logpipe.rotations(log, keep)).decode().splitlines()


def test_a_log_rotated_under_a_writer_that_never_pauses_loses_no_line(tmp_path):
    log, lines, keep = tmp_path / "logs" / "service.log", 200_000, 10_000
    proc = process.spawn([sys.executable, "-c", WRITER, str(lines)], log, max_log_bytes=256 * 1024, keep_logs=keep)
    assert proc.wait(timeout=120) == 0
    deadline = time.monotonic() + 60  # the log writer drains the pipe after the program exited
    while time.monotonic() < deadline and len(_read_all(log, keep)) < lines:
        time.sleep(0.1)
    files = logpipe.rotations(log, keep)
    assert len(files) > 20  # it rotated many times while the program wrote
    assert _read_all(log, keep) == [f"line {n:07d} " + "x" * 40 for n in range(lines)]  # each line once, in order
    assert all(f.stat().st_size <= 256 * 1024 + 64 * 1024 for f in files)  # rotated within one read of its size


def test_the_newest_rotations_are_kept_and_the_oldest_dropped(tmp_path):
    log = tmp_path / "x.log"
    writer = logpipe.RotatingLog(log, max_bytes=10, keep=2)
    for n in range(5):
        writer.write(f"{n}-padding-line\n".encode())
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.log", "x.log.1", "x.log.2"]
    assert [f.read_text() for f in logpipe.rotations(log, 2)] == ["3-padding-line\n", "4-padding-line\n", ""]


def test_a_write_that_ends_mid_line_waits_for_the_line_end_before_rotating(tmp_path):
    log = tmp_path / "x.log"
    writer = logpipe.RotatingLog(log, max_bytes=4, keep=3)
    writer.write(b"a long line wi")
    assert not (tmp_path / "x.log.1").exists()  # over its size, but a rotation now would split the line
    writer.write(b"thout end\n")
    writer.close()
    assert (tmp_path / "x.log.1").read_bytes() == b"a long line without end\n"


def test_a_log_appended_to_keeps_what_it_had(tmp_path):
    log = tmp_path / "x.log"
    log.write_bytes(b"before\n")
    proc = process.spawn([sys.executable, "-c", "print('after')"], log)
    assert proc.wait(timeout=30) == 0
    deadline = time.monotonic() + 30
    while log.read_bytes() != b"before\nafter\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_bytes() == b"before\nafter\n"


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

    monkeypatch.setattr(process.socket, "socket", lambda *a, **k: Probe())
    first = process.free_port()
    assert (first, process.free_port(avoid={first})) == (5000, 5001)


def test_terminate_stops_the_whole_process_group(tmp_path):
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    proc = process.spawn([sys.executable, "-c", child], tmp_path / "t.log")
    time.sleep(0.5)
    import psutil

    grandchildren = psutil.Process(proc.pid).children(recursive=True)
    assert grandchildren
    process.terminate(proc.pid, timeout_s=5)
    assert process.gone(proc.pid)
    psutil.wait_procs(grandchildren, timeout=5)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in grandchildren)
