"""Audit memory (a script, not a test): ``reasonlake audit`` of one day of a large ``raw.feedback``
against loading the table, the way the audit worked before it pushed columns and filters down.

    .venv/bin/python bench/audit.py [--rows 1000000] [--days 30]

1. Writes ``--rows`` messages spread over ``--days`` day partitions of ``raw.feedback`` (one commit
   per day, ~300-byte texts) into a fresh home.
2. In a fresh process each (peak RSS from ``getrusage``): the audit of one day
   (``count(*)``, ``avg(length(text))`` where ``created_at`` lies in that day) through
   :func:`lake.audit.run_audit`; the same query over pyiceberg's whole-table read
   (``table.scan().to_arrow()``, the baseline); and an idle process importing the same modules.
3. Prints the peak RSS of each, above the idle process, their ratio, the seconds, and checks both
   answers agree.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from ingest import WORDS  # noqa: E402

from lake import catalog as lake_catalog  # noqa: E402
from lake.settings import Settings  # noqa: E402

FIRST_DAY = datetime(2026, 10, 1, tzinfo=UTC)

PROBE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import duckdb, pyarrow
from lake.audit import run_audit
from lake import catalog as lake_catalog
from lake.settings import Settings
settings = Settings(home={home!r})
sql = {sql!r}
started = time.perf_counter()
if {mode!r} == "audit":
    result = run_audit(settings, sql).to_pylist()
elif {mode!r} == "whole-table":
    feedback = lake_catalog.load(settings).load_table("raw.feedback").scan().to_arrow()
    con = duckdb.connect()
    con.register("feedback", feedback)
    result = con.sql(sql.replace("raw.feedback", "feedback")).to_arrow_table().to_pylist()
else:
    result = []
seconds = time.perf_counter() - started
print(json.dumps({{"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": seconds,
                  "result": result}}, default=str))
"""


def build(settings: Settings, rows: int, days: int) -> None:
    import pyarrow as pa

    rng = random.Random(3)
    table = lake_catalog.ensure_table(lake_catalog.load(settings), "raw.feedback")
    schema = lake_catalog.spec_of("raw.feedback").arrow_schema
    per_day = rows // days
    for day in range(days):
        start = FIRST_DAY + timedelta(days=day)
        n = per_day
        created = [start + timedelta(seconds=int(i * 86_400 / n)) for i in range(n)]
        base = day * per_day
        columns = {
            "message_id": [f"m{base + i}" for i in range(n)],
            "source": ["crm"] * n,
            "text": [" ".join(rng.choices(WORDS, k=50)) for _ in range(n)],
            "created_at": created,
            "kafka_topic": ["feedback.crm"] * n,
            "kafka_partition": [0] * n,
            "kafka_offset": list(range(base, base + n)),
            "kafka_timestamp": created,
            "ingested_at": created,
        }
        # the columns the bench leaves out (user, tags, rating, ...) are null
        batch = pa.Table.from_pydict({name: columns.get(name, [None] * n) for name in schema.names}, schema=schema)
        lake_catalog.append(table, batch, offsets={("feedback.crm", 0): base + n - 1})
        print(f"\r  day {day + 1}/{days} written", end="", flush=True)
    print()


def probe(settings: Settings, mode: str, sql: str) -> dict:
    code = PROBE.format(root=str(ROOT), home=str(settings.home), sql=sql, mode=mode)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} probe failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reasonlake-audit-bench-") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        settings.ensure_dirs()
        started = time.perf_counter()
        print(f"writing {args.rows:,} rows over {args.days} days of raw.feedback ...", flush=True)
        build(settings, args.rows, args.days)
        size = sum(p.stat().st_size for p in (settings.home / "warehouse").rglob("*.parquet")) / 2**20
        print(f"  {time.perf_counter() - started:.0f} s, {size:.0f} MB of Parquet")
        day = FIRST_DAY + timedelta(days=args.days // 2)
        sql = (
            "select count(*) as n, avg(length(text)) as mean_length from raw.feedback "
            f"where created_at >= '{day.isoformat()}' and created_at < '{(day + timedelta(days=1)).isoformat()}'"
        )
        idle = probe(settings, "idle", sql)
        audit = probe(settings, "audit", sql)
        whole = probe(settings, "whole-table", sql)
        assert audit["result"] == whole["result"], (audit["result"], whole["result"])
        print(f"\nquery: {sql}\nanswer: {audit['result']}")
        print(f"{'':28s} {'peak RSS MB':>12s} {'above idle':>11s} {'seconds':>8s}")
        for name, r in (("idle (imports only)", idle), ("audit (pushdown)", audit), ("whole-table read", whole)):
            print(f"{name:28s} {r['rss_mb']:12.0f} {r['rss_mb'] - idle['rss_mb']:11.0f} {r['seconds']:8.2f}")
        ratio = (audit["rss_mb"] - idle["rss_mb"]) / max(1.0, whole["rss_mb"] - idle["rss_mb"])
        print(
            f"audit / whole-table memory above idle: {ratio:.3f}; time ratio {audit['seconds'] / whole['seconds']:.2f}"
        )


if __name__ == "__main__":
    main()
