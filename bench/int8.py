"""The int8 embedder against fp32 on Banking77's test split (a script, not a test): what bench/RESULTS.md's
"int8 embedder" row reports.

    .venv/bin/python bench/int8.py [--rounds 3] [name=path/to/model.onnx ...]

On 200 test texts (every 15th): each model's encode speed (best of ``--rounds`` interleaved rounds, texts/s and
the ratio to fp32) and the cosine of its vectors to fp32's (mean, min); on all 3,080 texts: NMI and ARI of a
default topic fit against the 77 intents. Compared: fp32 (the default backend), ``int8-onnx`` (derived from the
fp32 weights, ``reasons.embedding.backends.int8_model_path``) and any other int8 ONNX file named on the line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BANKING77 = ROOT.parent / "shared" / "data" / "banking77" / "test.csv"


def main(argv: list[str] | None = None) -> None:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from reasons.embedding.backends import OnnxInt8Embedder, load_embedder
    from reasons.embedding.vectors import embed
    from reasons.topics.fit import fit_topics
    from reasons.topics.params import TopicModelParams

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("models", nargs="*", help="name=path of another int8 ONNX model file")
    args = parser.parse_args(argv)
    frame = pd.read_csv(BANKING77)
    texts = frame["text"].tolist()
    sample = texts[::15][:200]
    models = {"fp32": load_embedder("fp32"), "int8-onnx": load_embedder("int8-onnx")}
    for spec in args.models:
        name, path = spec.split("=", 1)
        models[name] = OnnxInt8Embedder(model_path=path)
    for model in models.values():
        embed(model, sample[:32])  # warm-up
    speed = dict.fromkeys(models, 0.0)
    for _ in range(args.rounds):
        for name, model in models.items():
            started = time.perf_counter()
            embed(model, sample)
            speed[name] = max(speed[name], len(sample) / (time.perf_counter() - started))
    reference = embed(models["fp32"], sample)
    for name, model in models.items():
        cosine = (reference * embed(model, sample)).sum(axis=1)
        fit = fit_topics(texts, embed(model, texts), TopicModelParams())
        nmi = normalized_mutual_info_score(frame["category"], fit.doc_topics)
        ari = adjusted_rand_score(frame["category"], fit.doc_topics)
        print(
            f"{name}: {speed[name]:.0f} texts/s ({speed[name] / speed['fp32']:.1f}x fp32); cosine to fp32 mean "
            f"{cosine.mean():.4f} min {cosine.min():.4f}; NMI {nmi:.3f} ARI {ari:.3f} ({len(fit.topics)} topics)",
            flush=True,
        )


if __name__ == "__main__":
    main()
