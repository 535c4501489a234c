"""Cost of personal-data redaction per message (a script, not a test).

    .venv/bin/python bench/pii.py [--n 2000]

Per corpus, microseconds per message for ``reasons.pii.redact``, against a baseline measured in the
same run: embedding the same messages with the default model (fp32, batch 128), the cost every message
already pays. Corpora: Banking77 queries and CFPB narratives (``../shared/data``, real text: digits,
amounts, dates, CFPB's XXXX marks) and the generated PII corpus of the tests (every message holds a value).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def per_message_us(fn, texts: list[str]) -> float:
    started = time.perf_counter()
    fn(texts)
    return (time.perf_counter() - started) / len(texts) * 1e6


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from reasons.pii import redact_all
    from tests.support.pii_corpus import corpus

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="messages per corpus")
    args = parser.parse_args(argv)
    corpora = {"generated PII": [s.text for s in corpus(per_kind=max(1, args.n // 5))][: args.n]}
    for name, path, column in (
        ("Banking77", SHARED / "banking77" / "test.csv", "text"),
        ("CFPB", SHARED / "cfpb" / "complaints.csv", None),
    ):
        if not path.exists():
            print(f"{name}: {path} missing, skipped")
            continue
        frame = pd.read_csv(path)
        col = column or next(c for c in frame.columns if "narrative" in c.lower() or c == "text")
        corpora[name] = frame[col].dropna().astype(str).head(args.n).tolist()
    model = load_embedder()
    embed(model, ["warm up"])
    print(
        f"{'corpus':<15} {'messages':>8} {'chars/msg':>9} {'redacted':>8} {'redact µs/msg':>14} {'embed µs/msg':>13} {'ratio':>6}"
    )
    for name, texts in corpora.items():
        redact_us = per_message_us(redact_all, texts)
        sample = texts[: min(len(texts), 512)]
        embed_us = per_message_us(lambda xs: embed(model, xs), sample)
        changed = sum(a != b for a, b in zip(texts, redact_all(texts)))
        chars = sum(map(len, texts)) / len(texts)
        print(
            f"{name:<15} {len(texts):>8} {chars:>9.0f} {changed:>8} {redact_us:>14.0f} {embed_us:>13.0f} "
            f"{redact_us / embed_us:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
