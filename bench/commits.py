"""Commit cost over a long life (a script, not a test): the ingest sink's commits to ``raw.feedback`` (one
small batch each, as a table committed to every 20 s for days receives them), or with ``--writer alerts``
the alert job's writer's to ``alerts.alerts`` (one alert each, looked up by id first, as every 2 s while
it alerts).

    .venv/bin/python bench/commits.py [--writer ingest|alerts] [--commits 500] [--every 50]

Two fresh catalogs in the same run:

- **baseline**: pyiceberg's defaults, as the tables were before: no manifest merging, no history bound
  (``lake.catalog.HISTORY_MAX`` lifted), so every commit keeps its snapshot and its manifest until the
  daily maintenance;
- **shipped**: the table properties of :mod:`lake.catalog` (manifests merged at 100) and its history
  bound (more than ``HISTORY_MAX`` snapshots: the oldest expired down to ``HISTORY_KEPT``).

Every ``--every`` commits it prints the mean time of the last 20 commits, the snapshots and the manifests
of the current snapshot; at the end, a straight line through the baseline's times (the cost of each
snapshot kept) and what it gives for a week of commits every ``--interval-s`` (20 s: 30,240), against
the shipped mean.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flink.alerting import AlertWriter, candidate_line  # noqa: E402
from flink.contract import KafkaEnvelope, validate  # noqa: E402
from flink.jobconfig import BatchPolicy  # noqa: E402
from flink.sink import IcebergBatchSink  # noqa: E402
from lake import catalog as lake_catalog  # noqa: E402
from lake.settings import Settings  # noqa: E402

WEEK_S = 7 * 24 * 3600


def batch(start: int, n: int) -> list:
    now = datetime.now(UTC)
    out = []
    for o in range(start, start + n):
        value = (
            f'{{"message_id": "m-{o}", "source": "crm", "text": "late refund number {o}", '
            f'"created_at": "{now.strftime("%Y-%m-%dT%H:%M:%SZ")}"}}'
        ).encode()
        out.append(validate(KafkaEnvelope("feedback.crm", 0, o, int(now.timestamp() * 1000), value), now))
    return out


def alert_line(n: int) -> str:
    """An accounting line of the alert job's rate limiter for one sent alert (``sent`` + its candidate line)."""
    at = datetime.now(UTC)
    row = dict(
        alert_id=f"a{n}", message_id=f"m{n}", source="crm", topic_id=1, reason_id="r1", label="late refund",
        week="2026-W48", model_version="v1", similarity=0.9, text="late refund, still waiting", kafka_topic="feedback.crm",
        kafka_partition=0, kafka_offset=n, kafka_timestamp=at, alerted_at=at,
    )  # fmt: skip
    return "sent\t" + candidate_line(row)


def run(name: str, commits: int, every: int, shipped: bool, writer: str) -> list[float]:
    home = Path(tempfile.mkdtemp(prefix=f"commits-{name}-"))
    if not shipped:
        lake_catalog.TABLE_PROPERTIES = {
            k: v for k, v in lake_catalog.TABLE_PROPERTIES.items() if not k.startswith("commit.manifest")
        }
        lake_catalog.HISTORY_MAX = 10**9
    cat = lake_catalog.load(Settings(home=home))
    sink = IcebergBatchSink(cat, BatchPolicy(batch_size=10_000))
    alerts = AlertWriter(cat)
    identifier = "alerts.alerts" if writer == "alerts" else "raw.feedback"
    times: list[float] = []
    for c in range(commits):
        if writer == "alerts":
            started = time.perf_counter()
            alerts.write([alert_line(c)])
        else:
            sink.add_all(batch(c * 10, 10))
            started = time.perf_counter()
            sink.flush()
        times.append(time.perf_counter() - started)
        if (c + 1) % every == 0:
            table = cat.load_table(identifier)
            snapshot = table.current_snapshot()
            manifests = len(snapshot.manifests(table.io)) if snapshot else 0
            print(
                f"{name:8} commit {c + 1:5}: {statistics.mean(times[-20:]) * 1000:6.0f} ms per commit, "
                f"{len(table.metadata.snapshots):4} snapshots, {manifests:4} manifests",
                flush=True,
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--writer", choices=("ingest", "alerts"), default="ingest")
    parser.add_argument("--interval-s", type=float, default=20.0, help="one commit every so many seconds, for a week")
    args = parser.parse_args()
    shipped = run("shipped", args.commits, args.every, True, args.writer)
    baseline = run("baseline", args.commits, args.every, False, args.writer)
    slope, intercept = statistics.linear_regression(range(len(baseline)), baseline)
    tail = statistics.mean(shipped[-100:])
    week = int(WEEK_S / args.interval_s)
    print(
        f"\nbaseline: {slope * 1000:.2f} ms more per commit kept; at commit {args.commits} "
        f"{statistics.mean(baseline[-20:]) * 1000:.0f} ms; a week of commits every {args.interval_s:g} s "
        f"({week}) would reach {(intercept + slope * week):.1f} s per commit"
    )
    print(
        f"shipped: {tail * 1000:.0f} ms per commit over the last 100 (trims included), "
        f"{statistics.mean(shipped[:100]) * 1000:.0f} ms over the first 100; "
        f"ratio to the baseline at commit {args.commits}: {tail / statistics.mean(baseline[-100:]):.2f}"
    )


if __name__ == "__main__":
    main()
