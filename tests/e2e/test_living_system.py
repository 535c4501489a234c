"""The system runs by itself: after `reasonlake run`, producing the messages of a closed week and then
fresh ones leads, with no further command, to the week ingested, its weekly run (started by the
Dagster daemon's closed-week sensor), a published election, and alerts on the next fresh messages. A
crashed service is restarted and says so; `reasonlake down` stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flink import kafka_io
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC, Settings
from reasonlake import services
from reasonlake.synthetic import SyntheticSpec, generate, incoming
from reasons.topics.artifact import current_artifact_path

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

EXE = str(Path(sys.executable).with_name("reasonlake"))


def wait_for(predicate, timeout_s: float, what: str, settings: Settings):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
                for p in sorted(settings.logs_dir.glob("*.log"))
            )
            raise AssertionError(f"{what} within {timeout_s:.0f} s\n{logs}")
        time.sleep(3)


def test_reasonlake_run_ingests_elects_and_alerts_with_no_further_command(tmp_path):
    settings = Settings(home=tmp_path / "home")  # the user's defaults: the durable s3 broker storage
    home = ["--home", str(settings.home)]
    started = subprocess.run(
        [EXE, *home, "run", "--no-ui"], env=settings.child_env(), capture_output=True, text=True, timeout=180
    )
    assert started.returncode == 0, started.stderr
    try:
        for name in ("ingest", "alerts", "dagster-daemon"):
            assert name in started.stdout, started.stdout
        bootstrap = subprocess.run([EXE, *home, "status"], capture_output=True, text=True).stdout.splitlines()[0]

        records, truth = generate(SyntheticSpec(messages=700, weeks=1, seed=5, invalid_rate=0.0))
        [week] = truth.weeks
        kafka_io.produce(bootstrap, ((r.topic, r.value) for r in records))
        first, _ = incoming(60, seed=301, now=datetime.now(UTC), surge_issue=truth.surge["issue"])
        kafka_io.produce(bootstrap, ((r.topic, r.value) for r in first))  # the week has closed

        def promoted() -> bool:
            path = current_artifact_path(settings)
            return path is not None and path.parent.name == week

        wait_for(promoted, 900, f"the weekly run of {week} promoted a model", settings)
        cat = lake_catalog.load(settings)
        produced = sorted(r.message_id for r in records if r.message_id)  # a platform's re-sends included
        expected = set(produced)

        def ingested() -> list[str]:
            ids = lake_catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).column("message_id")
            return sorted(i for i in ids.to_pylist() if i in expected)

        # every record of the week ingested, once (nothing lost, nothing doubled)
        wait_for(lambda: len(ingested()) >= len(produced), 120, "every message of the week ingested", settings)
        assert ingested() == produced
        elections = lake_catalog.read(cat, "ml.elections").to_pylist()
        assert {r["week"] for r in elections} == {week} and any(r["elected"] for r in elections)
        assert (settings.reports_dir / f"{week}.html").exists()

        # the alert job (restarted with backoff until a model was live) alerts on the next fresh messages
        def alerted() -> list[dict]:
            fresh, _ = incoming(60, seed=int(time.time()), now=datetime.now(UTC), surge_issue=truth.surge["issue"])
            kafka_io.produce(bootstrap, ((r.topic, r.value) for r in fresh))
            time.sleep(20)
            ids = {r.message_id for r in fresh}
            return [
                a
                for a in (json.loads(r.value) for r in kafka_io.consume(bootstrap, [ALERTS_TOPIC], max_idle_s=1.0))
                if a.get("kind") == "alert" and a["message_id"] in ids
            ]

        wait_for(alerted, 400, "alerts on fresh messages", settings)

        # a crashed service is restarted, and status and the supervisor's log say so
        state = services.read_state(settings)
        assert state is not None
        daemon = state["services"]["dagster-daemon"]["pid"]
        os.killpg(daemon, signal.SIGKILL)
        wait_for(
            lambda: (services.read_state(settings) or {"services": {}})["services"]["dagster-daemon"]["restarts"] >= 1,
            60,
            "the daemon restarted",
            settings,
        )
        status = subprocess.run([EXE, *home, "status"], capture_output=True, text=True).stdout
        assert "dagster-daemon" in status and "restarts 1" in status, status
        assert status.splitlines()[-1].startswith("disk: warehouse "), status  # what the home holds, watched
        assert "dagster-daemon exited with code" in (settings.logs_dir / "supervisor.log").read_text()
    finally:
        stopped = subprocess.run([EXE, *home, "down"], capture_output=True, text=True, timeout=240)
    assert stopped.returncode == 0 and "services stopped" in stopped.stdout, stopped.stderr
    assert services.read_state(settings) is None
