"""The system runs by itself: after `reasonlake run`, producing the messages of a closed week and then
fresh ones leads, with no further command, to the week ingested, its weekly run (started by the
Dagster daemon's closed-week sensor), a published election, and alerts on the next fresh messages. A
crashed service is restarted and says so; `reasonlake down` stops everything.

Ingestion is checked exactly: every record produced (the week's, a platform's re-sends and a few invalid
ones among them, and the fresh ones) is one row, found by the Kafka position its delivery report gave (the
embedded broker's "latest" offset is only a lower bound: docs/ingestion.md), within a bounded wait that
says, when it runs out, how many are missing, doubled or misplaced."""

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
from reasonlake.synthetic import SyntheticRecord, SyntheticSpec, generate, incoming
from reasons.topics.artifact import current_artifact_path
from services import broker as broker_mod
from services import supervisor
from tests.support.feedback import Sent, ingestion_gaps, produce_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

EXE = str(Path(sys.executable).with_name("reasonlake"))
# the ingest service commits every 20 s (its flush interval); the wait bounds a slow commit, not a lost record
INGESTED_WITHIN_S = 180


def invalid_records(topic: str) -> list[tuple[str, bytes | None, str]]:
    """One record per common way to be invalid, with the reason code it must be rejected with."""
    fields = {
        "message_id": "living-bad",
        "source": topic.removeprefix("feedback."),
        "created_at": "2026-01-05T10:00:00Z",
    }
    return [
        (topic, b"{not json", "not_json"),
        (topic, json.dumps(fields).encode(), "missing_field"),
        (topic, json.dumps({**fields, "text": "   "}).encode(), "empty_text"),
        (topic, json.dumps({**fields, "text": "hello", "created_at": "yesterday"}).encode(), "bad_timestamp"),
        (topic, b"\xff\xfe not utf-8", "not_utf8"),
        (topic, None, "null_value"),
    ]


def produce(bootstrap: str, records: list[SyntheticRecord], sent: list[tuple[Sent, str | None]]) -> None:
    """Produce valid records, noting where each landed in ``sent``."""
    sent.extend((at, None) for at in produce_recorded(bootstrap, [(r.topic, r.value) for r in records]))


def wait_for(predicate, timeout_s: float, what: str, settings: Settings, detail=None):
    """``predicate()``'s value once truthy; past ``timeout_s``, fails saying ``what``, ``detail()`` and the logs."""
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
            said = f": {detail()}" if detail else ""
            raise AssertionError(f"{what} within {timeout_s:.0f} s{said}\n{logs}")
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
        bootstrap, intake_line = subprocess.run(
            [EXE, *home, "status"], capture_output=True, text=True
        ).stdout.splitlines()[:2]
        intake = intake_line.split()[1]  # where platforms send: the job reads the batches the intake merged
        assert intake == broker_mod.intake_servers(settings) != bootstrap

        records, truth = generate(SyntheticSpec(messages=700, weeks=1, seed=5, invalid_rate=0.0))
        assert any(r.kind == "duplicate" for r in records)  # a platform's re-sends: rows of their own
        [week] = truth.weeks
        sent: list[tuple[Sent, str | None]] = []  # every record produced, with the reason it must be rejected for
        produce(intake, records, sent)
        invalid = invalid_records(records[0].topic)
        landed = produce_recorded(intake, [(topic, value) for topic, value, _ in invalid])
        sent.extend(zip(landed, [reason for _, _, reason in invalid], strict=True))
        first, _ = incoming(60, seed=301, now=datetime.now(UTC), surge_issue=truth.surge["issue"])
        produce(intake, first, sent)  # the week has closed

        def promoted() -> bool:
            path = current_artifact_path(settings)
            return path is not None and path.parent.name == week

        wait_for(promoted, 900, f"the weekly run of {week} promoted a model", settings)
        cat = lake_catalog.load(settings)

        def gaps() -> str:
            return ingestion_gaps(cat, sent)

        # every record produced so far is one row (nothing lost, nothing doubled, the invalid ones rejected)
        what = f"each of the {len(sent)} records produced ingested exactly once"
        wait_for(lambda: not gaps(), INGESTED_WITHIN_S, what, settings, detail=gaps)
        elections = lake_catalog.read(cat, "ml.elections").to_pylist()
        assert {r["week"] for r in elections} == {week} and any(r["elected"] for r in elections)
        assert (settings.reports_dir / f"{week}.html").exists()

        # the alert job (restarted with backoff until a model was live) alerts on the next fresh messages
        def alerted() -> list[dict]:
            fresh, _ = incoming(60, seed=int(time.time()), now=datetime.now(UTC), surge_issue=truth.surge["issue"])
            produce(intake, fresh, sent)
            time.sleep(20)
            ids = {r.message_id for r in fresh}
            return [
                a
                for a in (json.loads(r.value) for r in kafka_io.consume(bootstrap, [ALERTS_TOPIC], max_idle_s=1.0))
                if a.get("kind") == "alert" and a["message_id"] in ids
            ]

        wait_for(alerted, 400, "alerts on fresh messages", settings)
        # and the fresh messages too, every one of them once
        what = f"each of the {len(sent)} records produced ingested exactly once"
        wait_for(lambda: not gaps(), INGESTED_WITHIN_S, what, settings, detail=gaps)

        # a crashed service is restarted, and status and the supervisor's log say so
        state = supervisor.read_state(settings)
        assert state is not None
        daemon = state["services"]["dagster-daemon"]["pid"]
        os.killpg(daemon, signal.SIGKILL)
        wait_for(
            lambda: (
                (supervisor.read_state(settings) or {"services": {}})["services"]["dagster-daemon"]["restarts"] >= 1
            ),
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
    assert supervisor.read_state(settings) is None
