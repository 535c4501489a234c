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

from lake.settings import Settings
from services.supervisor import state_file

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
