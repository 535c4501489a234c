"""The home's Dagster webserver (the UI's backend), started for a test, and its GraphQL API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lake.settings import Settings
from reasonlake.weekly import dagster_home
from tests.support.paths import REPO

BIN = Path(sys.executable).parent


class Ui:
    """The home's webserver (the UI's backend) and its GraphQL API."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = settings.logs_dir / "webserver-test.log"
        self.proc = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO,
            env=settings.child_env(DAGSTER_HOME=str(dagster_home(settings))),
            stdout=(out := self.log.open("wb")),
            stderr=subprocess.STDOUT,
        )
        self._out = out
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=5).read()
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()[-3000:]
                time.sleep(1)

    def query(self, query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=120).read())
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._out.close()
