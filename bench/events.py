"""What the commit sensors' reports cost the Dagster instance (a script, not a test): disk per day.

    .venv/bin/python bench/events.py [--events 500]

Reports ``--events`` materializations shaped as ``raw_feedback_commits`` writes them (nine partitions'
Kafka offsets, row counts, timestamps) into a fresh instance's SQLite storage, measures the bytes each adds,
and prints what a day of them costs two raw tables: one per commit, every 20 s under a steady ingest (the
baseline: what the sensor reported before), and one per report, every ``REPORT_INTERVAL_S``; and at most
what ``alerts_commits`` adds, one report of ``alerts/alerts`` every ``REPORT_INTERVAL_S`` while alerts flow
(its reports carry no Kafka offsets, so each is smaller than the ones measured).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue  # noqa: E402

from dagster_project.commits import REPORT_INTERVAL_S  # noqa: E402

DAY_S = 24 * 3600
COMMIT_INTERVAL_S = 20  # the ingest job's flush interval under a steady load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="events-"))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    offsets = {f"feedback.{s}#{p}": 1_234_567 + p for s in ("crm", "support_portal", "review_portal") for p in range(3)}

    def size() -> int:
        return sum(p.stat().st_size for p in home.rglob("*") if p.is_file())

    with DagsterInstance.from_config(str(home)) as instance:
        instance.report_runless_asset_event(AssetMaterialization(asset_key=AssetKey(["raw", "feedback"])))
        before, started = size(), time.perf_counter()
        for i in range(args.events):
            instance.report_runless_asset_event(
                AssetMaterialization(
                    asset_key=AssetKey(["raw", "feedback"]),
                    description="1 ingest commit(s), 1000 row(s) added",
                    metadata={
                        "commits": 1,
                        "rows_added": 1000,
                        "snapshot_id": str(10**18 + i),
                        "sequence_number": i,
                        "dagster/row_count": 1000 * i,
                        "kafka_offsets": MetadataValue.json(offsets),
                        "first_committed_at": MetadataValue.timestamp(time.time()),
                        "committed_at": MetadataValue.timestamp(time.time()),
                    },
                )
            )
        per_event = (size() - before) / args.events
        seconds = (time.perf_counter() - started) / args.events
    per_commit = 2 * DAY_S / COMMIT_INTERVAL_S
    per_report = 2 * DAY_S / REPORT_INTERVAL_S
    print(f"{per_event / 1000:.1f} kB and {seconds * 1000:.0f} ms per materialization ({args.events} reported)")
    print(
        f"baseline, one per commit (2 tables every {COMMIT_INTERVAL_S} s): {per_commit * per_event / 1e6:.0f} MB a day"
    )
    print(f"one per report (2 tables every {REPORT_INTERVAL_S} s): {per_report * per_event / 1e6:.1f} MB a day")
    print(f"ratio {per_report / per_commit:.3f}")
    alerts = DAY_S / REPORT_INTERVAL_S * per_event
    print(
        f"alerts/alerts, one per report while alerts flow (every {REPORT_INTERVAL_S} s): at most {alerts / 1e6:.1f} MB a day"
    )


if __name__ == "__main__":
    main()
