"""Embedding batches by length vs in arrival order, on real complaints (CFPB narratives).

A batch is padded to its longest text. ``reasons.embedding.vectors.embed`` puts texts of similar length
in one batch (longest first) and returns the rows in the caller's order; the baseline, in the same run,
is what it did before: batches of the texts as they came. Prints seconds, the ratio, and how far the two
sets of vectors are apart (they are the same vectors but for float rounding).

    PYTHONHASHSEED=0 .venv/bin/python bench/batching.py [--n 800] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reasons.corpora import cfpb_frame  # noqa: E402
from reasons.embedding.backends import load_embedder  # noqa: E402
from reasons.embedding.vectors import embed, normalize  # noqa: E402

CFPB = REPO.parent / "shared" / "data" / "cfpb" / "complaints.csv"


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
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--cfpb", type=Path, default=CFPB)
    args = parser.parse_args()
    if not args.cfpb.exists():
        sys.exit(f"batching: {args.cfpb} is missing (../shared/data/cfpb beside the checkout)")
    texts = cfpb_frame(args.cfpb).sample(args.n, random_state=0)["text"].astype(str).tolist()
    model = load_embedder()
    embed(model, texts[:16])  # warm up
    started = time.perf_counter()
    base = arrival_order(model, texts, args.batch_size)
    base_s = time.perf_counter() - started
    started = time.perf_counter()
    sorted_ = embed(model, texts, batch_size=args.batch_size)
    sorted_s = time.perf_counter() - started
    cosine = np.sum(base * sorted_, axis=1)
    print(f"{len(texts)} CFPB narratives, batches of {args.batch_size}, fp32 on this machine")
    print(f"  arrival order (baseline): {base_s:7.1f} s")
    print(f"  by length (embed):        {sorted_s:7.1f} s   ratio {sorted_s / base_s:.2f}")
    print(f"  same vectors: min cosine {cosine.min():.6f}, max |difference| {np.abs(base - sorted_).max():.2e}")


if __name__ == "__main__":
    main()
