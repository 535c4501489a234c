"""The two embedding backends compared on Banking77 (``bench/fit.py --backend both``).

Speed (texts/s, best of a few rounds on the same texts), cosine of each text's two embeddings
(mean/min), NMI/ARI of a default fit on each backend's embeddings, and the quality cost of the
sample fit on real text.
"""

from __future__ import annotations

import time
from pathlib import Path

from fit import BACKENDS, corpus


def run_quality(banking77: Path, seed: int, speed_texts: int = 1000, rounds: int = 3) -> dict:
    """Both backends on Banking77's test split: speed, cosine fidelity and NMI/ARI of a default fit."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from reasons.topics.fit import fit_topics
    from reasons.topics.params import TopicModelParams

    frame = pd.read_csv(banking77)
    texts = frame["text"].tolist()
    out: dict = {"texts": len(texts), "backends": {}}
    embedders = {}
    for backend in BACKENDS:
        started = time.perf_counter()
        embedders[backend] = load_embedder(backend)
        embedders[backend].encode(["warm-up"], batch_size=1)
        out["backends"][backend] = {"load_s": time.perf_counter() - started}
    # speed: the backends take turns on the same texts, best of ``rounds`` (the machine is shared)
    synth, _ = corpus(speed_texts, seed)
    for name, sample in (("banking77", texts[:speed_texts]), ("synthetic", synth["text"].tolist())):
        for backend in embedders:
            out["backends"][backend][f"{name}_texts_per_s"] = 0.0
        for _ in range(rounds):
            for backend, embedder in embedders.items():
                started = time.perf_counter()
                embed(embedder, sample)
                rate = len(sample) / (time.perf_counter() - started)
                b = out["backends"][backend]
                b[f"{name}_texts_per_s"] = max(b[f"{name}_texts_per_s"], rate)
    vectors = {}
    for backend, embedder in embedders.items():
        vectors[backend] = embed(embedder, texts)
        fit = fit_topics(texts, vectors[backend], TopicModelParams())
        out["backends"][backend].update(
            {
                "nmi": float(normalized_mutual_info_score(frame["category"], fit.doc_topics)),
                "ari": float(adjusted_rand_score(frame["category"], fit.doc_topics)),
                "topics": len(fit.topics),
                "outlier_share": fit.outlier_share,
            }
        )
    cos = (vectors["fp32"] * vectors["int8-onnx"]).sum(axis=1)
    out["cosine_mean"], out["cosine_min"], out["cosine_p01"] = (
        float(cos.mean()),
        float(cos.min()),
        float(np.quantile(cos, 0.01)),
    )
    a, b = embed(embedders["fp32"], synth["text"].tolist()), embed(embedders["int8-onnx"], synth["text"].tolist())
    cos = (a * b).sum(axis=1)
    out["synthetic_cosine_mean"], out["synthetic_cosine_min"] = float(cos.mean()), float(cos.min())
    out["nmi_drop"] = out["backends"]["fp32"]["nmi"] - out["backends"]["int8-onnx"]["nmi"]
    out["fidelity_holds"] = out["cosine_mean"] >= 0.99 and out["nmi_drop"] <= 0.01
    # the quality cost of sample-fit-then-assign on real text: half of Banking77, the rest assigned
    half = fit_topics(texts, vectors["fp32"], TopicModelParams(fit_sample=len(texts) // 2))
    out["fp32_half_sample"] = {
        "sample": len(texts) // 2,
        "topics": len(half.topics),
        "outlier_share": half.outlier_share,
        "nmi": float(normalized_mutual_info_score(frame["category"], half.doc_topics)),
        "ari": float(adjusted_rand_score(frame["category"], half.doc_topics)),
    }
    return out
