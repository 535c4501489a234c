"""Numba's compiled code kept on disk (``reasons.topics.compiled``) vs compiled in every process.

Each line is a fresh process that fits one small week (``reasons.topics.fit.fit_topics`` on N random
unit vectors: the time is numba's compilation, the fit itself takes a second), all with one empty
numba cache folder made for this run:

- ``baseline``: UMAP imported before the fit module, so ``keep_compiled_code`` cannot apply: what every
  process paid before (run twice, to show it is paid each time);
- ``kept, 1st``: the first process with the change: it compiles and stores;
- ``kept, 2nd``: every later process (the next weekly run, the next Dagster run process): it loads.

    .venv/bin/python bench/compiled.py [--n 600]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
if {baseline}:
    import umap  # noqa: F401  (before the fit module: nothing is stored)
import numpy as np
from reasons.topics.fit import fit_topics
from reasons.topics.params import TopicModelParams
texts = [f"message {{i}} about topic {{i % 7}}" for i in range({n})]
vectors = np.random.default_rng(0).normal(size=({n}, 384)).astype(np.float32)
started = time.perf_counter()
fit_topics(texts, vectors, TopicModelParams())
print(time.perf_counter() - started)
"""


def fit_seconds(n: int, baseline: bool, cache: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
    code = CHILD.format(repo=str(REPO), n=n, baseline=baseline)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="messages in the week (default 600)")
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        rows = [
            ("baseline", fit_seconds(n, True, cache)),
            ("baseline, again", fit_seconds(n, True, cache)),
            ("kept, 1st process", fit_seconds(n, False, cache)),
            ("kept, 2nd process", fit_seconds(n, False, cache)),
        ]
    base = (rows[0][1] + rows[1][1]) / 2
    print(f"fit of {n} messages in a fresh process, seconds (ratio to the baseline's mean {base:.1f} s)")
    for name, seconds in rows:
        print(f"  {name:<18} {seconds:6.1f}  {seconds / base:5.2f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s in all)")
