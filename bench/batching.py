"""Embedding batches by length vs in arrival order, and batch sizes, on real complaints (CFPB narratives).

A batch is padded to its longest text. ``reasons.embedding.vectors.embed`` puts texts of similar length
in one batch (longest first) and returns the rows in the caller's order; the baseline, in the same
run, is what it did first: batches of 128 texts as they came. Then ``embed`` at each of
``--batch-sizes`` (its default is 128). Prints seconds, the ratio to the baseline, and how far each
set of vectors is from the baseline's (the same vectors but for float rounding).

    PYTHONHASHSEED=0 .venv/bin/python bench/batching.py [--n 800] [--batch-sizes 128,32,16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.quality import CFPB  # noqa: E402
from reasons.corpora import cfpb_frame  # noqa: E402
from reasons.embedding.backends import load_embedder  # noqa: E402
from reasons.embedding.vectors import embed, normalize  # noqa: E402

BASELINE_BATCH = 128


def arrival_order(model, texts: list[str], batch_size: int) -> np.ndarray:
    """The baseline: one padded batch per ``batch_size`` texts as they came (``embed`` before sorting)."""
    parts = [
        np.asarray(
            model.encode(
                texts[i : i + batch_size], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            ),
            dtype=np.float32,
        )
        for i in range(0, len(texts), batch_size)
    ]
    return normalize(np.vstack(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=800, help="narratives (a seeded sample of the corpus)")
    parser.add_argument("--batch-sizes", default="128,32,16", help="embed()'s batch sizes to time")
    parser.add_argument("--cfpb", type=Path, default=CFPB)
    args = parser.parse_args()
    if not args.cfpb.exists():
        sys.exit(f"batching: {args.cfpb} is missing (../shared/data/cfpb beside the checkout)")
    texts = cfpb_frame(args.cfpb).sample(args.n, random_state=0)["text"].astype(str).tolist()
    model = load_embedder()
    embed(model, texts[:16])  # warm up
    started = time.perf_counter()
    base = arrival_order(model, texts, BASELINE_BATCH)
    base_s = time.perf_counter() - started
    print(f"{len(texts)} CFPB narratives ({len(set(texts))} distinct), fp32 on this machine")
    print(f"  arrival order, batches of {BASELINE_BATCH} (baseline): {base_s:7.1f} s")
    for size in (int(b) for b in args.batch_sizes.split(",")):
        started = time.perf_counter()
        vectors = embed(model, texts, batch_size=size)
        seconds = time.perf_counter() - started
        print(
            f"  embed(), batches of {size:>3}:                {seconds:7.1f} s   ratio {seconds / base_s:.2f}"
            f"   min cosine {np.sum(base * vectors, axis=1).min():.6f}, max |diff| {np.abs(base - vectors).max():.1e}"
        )


if __name__ == "__main__":
    main()
