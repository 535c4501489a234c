"""Online lookup latency (a script, not a test): the election read back through
``feature_repo.online.ReasonLookup`` (what the alert job and the classify API call) from the default
SQLite online store and from a real Redis (``services.redis``).

    .venv/bin/python bench/online.py [--reasons 40] [--lookups 2000] [--per-lookup 10]

1. Publishes one week's election of ``--reasons`` reasons to both stores (two fresh homes).
2. Times ``--lookups`` reads of ``--per-lookup`` reason ids each (random ids of the week, the same
   sequence for both stores), after 50 warm-up reads.
3. Prints p50/p99/max per store, read through Feast every time (the store of record) and through
   ``ReasonLookup.get`` (what the job and the API call: from memory until the next publication), the
   ratio Redis / SQLite, and checks every answer agrees.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feature_repo.online import ReasonLookup  # noqa: E402
from feature_repo.publish import publish_reasons  # noqa: E402
from lake.settings import Settings  # noqa: E402
from reasons.election.elect import elect  # noqa: E402
from reasons.election.policy import ElectionPolicy  # noqa: E402
from services.redis import start as start_redis  # noqa: E402
from services.redis import stop as stop_redis  # noqa: E402

WEEK, VERSION = "2026-W46", "2026-W46-bench0001"


def election(n: int) -> pd.DataFrame:
    sizes = [max(1, 200 // (i + 1)) for i in range(n)]
    topics = pd.DataFrame({"topic_id": [t for t, size in enumerate(sizes) for _ in range(size)], "dissatisfied": True})
    labels = {t: f"reason number {t}" for t in range(n)}
    return elect(topics, labels, ElectionPolicy(), WEEK, VERSION, elected_at=datetime(2026, 11, 16, 3, tzinfo=UTC))


def timed(read, batches: list[list[str]]) -> tuple[np.ndarray, list]:
    for ids in batches[:50]:
        read(ids)
    seconds, answers = [], []
    for ids in batches:
        started = time.perf_counter()
        answers.append(read(ids))
        seconds.append(time.perf_counter() - started)
    return np.array(seconds) * 1000, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reasons", type=int, default=40)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--per-lookup", type=int, default=10)
    args = parser.parse_args()
    rows = election(args.reasons)
    ids = list(rows["reason_id"])
    rng = random.Random(7)
    batches = [rng.sample(ids, min(args.per_lookup, len(ids))) for _ in range(args.lookups)]
    with tempfile.TemporaryDirectory(prefix="bench-online-") as tmp:
        engines = Settings(home=Path(tmp) / "engines")
        redis = start_redis(engines)
        try:
            stores = {
                "sqlite": Settings(home=Path(tmp) / "sqlite"),
                f"redis ({redis.url})": Settings(home=Path(tmp) / "redis", online_store=redis.url),
            }
            results = {}
            for name, settings in stores.items():
                publish_reasons(settings, rows, WEEK, valid_weeks=2)
                lookup = ReasonLookup(settings)
                results[f"{name}, Feast"] = timed(lookup._read, batches)  # the store of record, every read
                results[f"{name}, cached"] = timed(lookup.get, batches)  # what the job and the API read
        finally:
            stop_redis(engines)
    answers = [a for _, a in results.values()]
    assert all(a == answers[0] for a in answers), "the stores, or the cache and its store, answered differently"
    print(f"{args.lookups} lookups of {args.per_lookup} reason ids ({args.reasons} reasons online), ms:")
    print(f"{'store':44s} {'p50':>7s} {'p99':>7s} {'max':>7s}")
    for name, (ms, _) in results.items():
        print(f"{name:44s} {np.percentile(ms, 50):7.3f} {np.percentile(ms, 99):7.3f} {ms.max():7.3f}")
    feast = [ms for name, (ms, _) in results.items() if name.endswith("Feast")]
    cached = [ms for name, (ms, _) in results.items() if name.endswith("cached")]
    print(
        f"ratio redis / sqlite through Feast: p99 {np.percentile(feast[1], 99) / np.percentile(feast[0], 99):.2f}; "
        f"cached p99 {max(np.percentile(ms, 99) for ms in cached):.3f} ms (target <= 1 ms; answers identical)"
    )


if __name__ == "__main__":
    main()
