"""Weekly topic-fit benchmark (a script, not a test): where the time and memory of a fit go.

    .venv/bin/python bench/fit.py [--sizes 10000,50000,100000] [--backend fp32|int8-onnx|both] [--sample N]
    .venv/bin/python bench/fit.py --flink-embedding 1,2,4 [--flink-cluster] [--sizes 8000] [--rows-per-file 1000]

For every size and backend, in a fresh child process (so peak RSS is that run's own):

1. generates one week of N synthetic messages (``reasonlake.synthetic``: 8 issue types on 3 platforms,
   praise and questions; the generated kind of each message is its ground truth);
2. times the stages of the weekly fit: ``embedding`` (all-MiniLM-L6-v2, the chosen backend),
   ``reduction`` (UMAP), ``clustering`` (HDBSCAN), ``representation`` (c-TF-IDF keywords and labels),
   ``merge_outliers`` (near-duplicate topic merging and outlier reduction, each re-running c-TF-IDF),
   ``assign`` (with ``--sample``: the messages outside the sample to their nearest topic centroid),
   ``registry`` (``topics.registry.update`` against a registry already holding the week's reasons:
   the matching path), ``election`` (``elections.policy.elect`` with ``policy.yaml``), plus
   ``sentiment`` (VADER dissatisfaction, shown apart: it is not part of the topic fit);
3. prints peak RSS (``getrusage``), non-embedding / embedding time (target ≤ 0.5 at 100k, and peak
   ≤ 8 GB), the fit's topics and outliers, and NMI/ARI of the topics against the generated kinds.

With ``--backend both`` it first compares the two embedders on Banking77's test split (3,080 real
banking queries, 77 intents; skipped when ``--banking77`` is missing): speed (texts/s), cosine of
each text's two embeddings (mean/min) and NMI/ARI of a default fit on each backend's embeddings.
``--sample N`` fits on a seeded sample of N messages and assigns the rest by nearest topic centroid
(``TopicModelParams.fit_sample``, default the pipeline's 20,000; ``--sample 0`` fits everything);
sizes at or below N fit everything.

``--flink-embedding 1,2,4`` measures the embedding stage as the pipeline runs it instead: the week's
messages staged in ``ml.embedding_inputs`` (``--rows-per-file`` rows per file, one task each) and the
PyFlink BATCH embedding job (``flink/embed_job.py``) at each parallelism, in a fresh home each, printed
as texts/s and the ratio to the first; with ``--flink-cluster`` on a standalone Flink cluster of two
TaskManagers (``services.flink_cluster``), else on the local mini-cluster. Each subtask loads the model
once (its load time is part of the figure, as in the pipeline).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BANKING77 = ROOT.parent / "shared" / "data" / "banking77" / "test.csv"
BACKENDS = ("fp32", "int8-onnx")
STAGES = ("embedding", "reduction", "clustering", "representation", "merge_outliers", "assign", "registry", "election")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)  # fixed: the same corpus on every run
TARGET_RATIO, TARGET_PEAK_GB = 0.5, 8.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def corpus(n: int, seed: int):
    """``n`` messages of one synthetic week: a frame (message_id, source, text, rating, kind)."""
    import pandas as pd

    from reasonlake.synthetic import SyntheticSpec, generate

    records, truth = generate(
        SyntheticSpec(messages=n, weeks=1, seed=seed, invalid_rate=0.0, duplicate_rate=0.0, now=NOW)
    )
    rows = []
    for r in records:
        m = json.loads(r.value)
        rows.append(
            {
                "message_id": m["message_id"],
                "source": m["source"],
                "text": m["text"],
                "rating": m.get("rating"),
                "kind": r.kind,
            }
        )
    return pd.DataFrame(rows), truth.weeks[0]


def score_fit(frame, week: str, embeddings, embedding_s: float, params, label: str) -> dict:
    """Fit ``params`` on precomputed embeddings, then registry and election: stage seconds and quality."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from lake.weeks import shift_week
    from reasons.election.elect import elect
    from reasons.election.policy import load_policy
    from reasons.registry import TopicIn, update
    from reasons.sentiment import score_messages
    from reasons.topics.fit import fit_topics
    from reasons.topics.params import OUTLIER

    texts = frame["text"].tolist()
    size = len(texts)
    out: dict = {"variant": label, "sample": params.fit_sample}
    t: dict[str, float] = {"embedding": embedding_s}
    timings: dict[str, float] = {}
    fit = fit_topics(
        texts,
        embeddings,
        params,
        timings=timings,
        log=lambda m: print(f"  [{size} {label}] {m[:200]}", file=sys.stderr, flush=True),
    )
    for k in ("reduction", "clustering", "representation", "merge_outliers", "assign"):
        t[k] = timings.get(k, 0.0)
    out["fit_total_s"] = timings["total"]
    out["rss_after_fit_mb"] = peak_rss_mb()

    started = time.perf_counter()
    scores = score_messages(frame, embeddings)
    out["sentiment_s"] = time.perf_counter() - started

    topics_in = [
        TopicIn(tp.topic_id, tp.label, tuple(float(v) for v in e), tp.size)
        for tp, e in zip(fit.topics, fit.topic_embeddings)
    ]
    before = update([], topics_in, shift_week(week, -1)).reasons  # last week's registry held these reasons
    started = time.perf_counter()
    registry = update(before, topics_in, week)
    t["registry"] = time.perf_counter() - started

    policy, _ = load_policy()
    message_topics = pd.DataFrame(
        {
            "message_id": frame["message_id"],
            "source": frame["source"],
            "topic_id": fit.doc_topics,
            "dissatisfied": scores["dissatisfied"],
        }
    )
    started = time.perf_counter()
    elections = elect(message_topics, fit.labels(), policy, week, f"{week}-bench", reason_ids=registry.reason_of())
    t["election"] = time.perf_counter() - started

    out["stages_s"] = t
    out["non_embedding_s"] = sum(v for k, v in t.items() if k != "embedding")
    out["ratio"] = out["non_embedding_s"] / embedding_s
    truth = frame["kind"].to_numpy()
    out["topics"] = len(fit.topics)
    out["outlier_share"] = fit.outlier_share
    out["nmi"] = float(normalized_mutual_info_score(truth, fit.doc_topics))
    out["ari"] = float(adjusted_rand_score(truth, fit.doc_topics))
    # issues only (praise/questions aside): how well the complaint types are separated
    issue = ~np.isin(truth, ["praise", "neutral"])
    out["nmi_issues"] = float(normalized_mutual_info_score(truth[issue], fit.doc_topics[issue]))
    out["elected"] = elections.loc[elections["elected"], "label"].tolist()
    out["outliers"] = int((fit.doc_topics == OUTLIER).sum())
    return out


def run_one(size: int, backend: str, sample: int, with_full: bool, seed: int) -> dict:
    """Embed ``size`` messages once with ``backend``, then the fit variants (sample first, then full)."""
    import numpy as np

    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from reasons.topics.fit import fit_topics
    from reasons.topics.params import TopicModelParams

    out: dict = {"size": size, "backend": backend, "cpus": os.cpu_count()}
    started = time.perf_counter()
    frame, week = corpus(size, seed)
    out["generate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    embedder = load_embedder(backend)
    embedder.encode(["warm-up"], batch_size=1)
    out["load_s"] = time.perf_counter() - started
    out["rss_after_load_mb"] = peak_rss_mb()
    texts = frame["text"].tolist()
    # numba compiles UMAP/pynndescent/HDBSCAN on a process's first fit (once per process, not per size):
    # throwaway fits of random vectors (above 4,096 points UMAP switches to NN-descent) take it out of the stages
    started = time.perf_counter()
    for n in (4500, 300) if size > 4096 else (300,):  # the UMAP nearest-neighbour path(s) the fits take
        warm = np.random.default_rng(0).normal(size=(n, 384)).astype(np.float32)
        fit_topics([texts[i % len(texts)] for i in range(n)], warm, TopicModelParams())
    out["warmup_s"] = time.perf_counter() - started
    out["rss_after_warmup_mb"] = peak_rss_mb()

    started = time.perf_counter()
    step = max(1, size // 10)
    embeddings = embed(
        embedder,
        texts,
        progress=lambda done, total: (
            done % step < 128 and print(f"  [{size} {backend}] embedded {done}/{total}", file=sys.stderr, flush=True)
        ),
    )
    embedding_s = time.perf_counter() - started
    out["embedding_s"] = embedding_s
    out["texts_per_s"] = size / embedding_s
    out["rss_after_embedding_mb"] = peak_rss_mb()
    variants = []
    if 0 < sample < size:
        variants.append((TopicModelParams(fit_sample=sample), f"{backend}, sample {sample}"))
    if not variants or with_full:
        variants.append((TopicModelParams(fit_sample=None), f"{backend}, full"))
    out["variants"] = [score_fit(frame, week, embeddings, embedding_s, params, label) for params, label in variants]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def child(argv: list[str]) -> dict:
    """Runs one measurement in a fresh interpreter; returns its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def print_run(r: dict) -> None:
    print(f"\n== {r['size']} messages, {r['backend']} ==")
    print(
        f"  embedding {r['embedding_s']:.1f}s = {r['texts_per_s']:.0f} texts/s; model load {r['load_s']:.1f}s, "
        f"JIT warm-up {r['warmup_s']:.1f}s (apart, once per process)"
    )
    for v in r["variants"]:
        s = v["stages_s"]
        print(
            f"  -- {v['variant']}: "
            + "  ".join(f"{k} {s[k]:.1f}s" for k in STAGES if k in s and (k != "assign" or v["sample"]))
        )
        print(
            f"     non-embedding {v['non_embedding_s']:.1f}s = {v['ratio']:.2f}x embedding (target <= "
            f"{TARGET_RATIO}); sentiment {v['sentiment_s']:.1f}s (apart)"
        )
        print(
            f"     {v['topics']} topics, outliers {v['outlier_share']:.1%}, NMI {v['nmi']:.3f} (issues only "
            f"{v['nmi_issues']:.3f}), ARI {v['ari']:.3f}; elected: {', '.join(v['elected']) or '-'}"
        )
        print(f"     peak RSS so far {v['rss_after_fit_mb']:.0f} MB")
    print(
        f"  peak RSS {r['peak_rss_mb']:.0f} MB (after load {r['rss_after_load_mb']:.0f}, warm-up "
        f"{r['rss_after_warmup_mb']:.0f}, embedding {r['rss_after_embedding_mb']:.0f}); target <= "
        f"{TARGET_PEAK_GB:.0f} GB",
        flush=True,
    )


def main() -> None:
    from reasons.topics.params import TopicModelParams

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000", help="comma-separated message counts")
    parser.add_argument("--backend", default="fp32", choices=[*BACKENDS, "both"])
    parser.add_argument(
        "--sample",
        type=int,
        default=TopicModelParams().fit_sample or 0,
        help="fit on a sample of N messages, assign the rest by centroid (0: fit all; "
        "default: the pipeline's TopicModelParams.fit_sample)",
    )
    parser.add_argument(
        "--with-full",
        action="store_true",
        help="with --sample: also fit every message on the same embeddings (quality cost)",
    )
    parser.add_argument("--seed", type=int, default=7, help="synthetic corpus seed")
    parser.add_argument("--banking77", type=Path, default=BANKING77, help="Banking77 test.csv (backend comparison)")
    parser.add_argument("--no-quality", action="store_true", help="skip the Banking77 backend comparison")
    parser.add_argument("--json", type=Path, default=None, help="also write all results to this file")
    parser.add_argument(
        "--flink-embedding", default=None, help="comma-separated parallelisms: time the PyFlink embedding job only"
    )
    parser.add_argument("--flink-cluster", action="store_true", help="with --flink-embedding: on a Flink cluster")
    parser.add_argument("--rows-per-file", type=int, default=1000, help="with --flink-embedding: one task per file")
    parser.add_argument("--_one", nargs=2, metavar=("SIZE", "BACKEND"), help=argparse.SUPPRESS)
    parser.add_argument("--_quality", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._one:
        print(
            "RESULT " + json.dumps(run_one(int(args._one[0]), args._one[1], args.sample, args.with_full, args.seed)),
            flush=True,
        )
        return
    if args._quality:
        from backends import run_quality

        print("RESULT " + json.dumps(run_quality(args.banking77, args.seed)), flush=True)
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.flink_embedding:
        from bench.fit_flink import run_flink_embedding

        parallelisms = [int(p) for p in args.flink_embedding.split(",")]
        for size in sizes:
            run_flink_embedding(size, parallelisms, args.flink_cluster, args.rows_per_file, args.seed)
        return
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    print(
        f"fit benchmark: sizes {sizes}, backend(s) {', '.join(backends)}, sample {args.sample or 'off'}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    results: dict = {"cpus": os.cpu_count(), "runs": []}
    if args.backend == "both" and not args.no_quality:
        if args.banking77.exists():
            q = child(["--_quality", "--banking77", str(args.banking77), "--seed", str(args.seed)])
            results["quality"] = q
            print(f"\n== backends on Banking77 test ({q['texts']} texts) ==")
            for b, v in q["backends"].items():
                print(
                    f"  {b}: {v['banking77_texts_per_s']:.0f} texts/s on Banking77, {v['synthetic_texts_per_s']:.0f} "
                    f"on synthetic (best of 3 turns, 1,000 texts), load {v['load_s']:.1f}s; NMI {v['nmi']:.3f}, "
                    f"ARI {v['ari']:.3f}, {v['topics']} topics, outliers {v['outlier_share']:.1%}"
                )
            f32, i8 = q["backends"]["fp32"], q["backends"]["int8-onnx"]
            print(
                f"  cosine int8 vs fp32: mean {q['cosine_mean']:.5f}, min {q['cosine_min']:.5f}, 1st pct "
                f"{q['cosine_p01']:.5f} (synthetic: mean {q['synthetic_cosine_mean']:.5f}, min "
                f"{q['synthetic_cosine_min']:.5f}); int8 speed {i8['banking77_texts_per_s'] / f32['banking77_texts_per_s']:.2f}x "
                f"fp32 (synthetic {i8['synthetic_texts_per_s'] / f32['synthetic_texts_per_s']:.2f}x); NMI drop "
                f"{q['nmi_drop']:+.3f}; fidelity {'holds' if q['fidelity_holds'] else 'does NOT hold'} "
                f"(mean cosine >= 0.99, NMI drop <= 0.01)"
            )
            h = q["fp32_half_sample"]
            print(
                f"  fp32, fit on {h['sample']} and assign the rest: NMI {h['nmi']:.3f}, ARI {h['ari']:.3f}, "
                f"{h['topics']} topics, outliers {h['outlier_share']:.1%}",
                flush=True,
            )
        else:
            print(f"(Banking77 comparison skipped: {args.banking77} is missing)")
    for size in sizes:
        for backend in backends:
            argv = ["--_one", str(size), backend, "--sample", str(args.sample), "--seed", str(args.seed)]
            r = child(argv + (["--with-full"] if args.with_full else []))
            results["runs"].append(r)
            print_run(r)

    print("\nSUMMARY (seconds; non-emb/emb: the stages after embedding over embedding; peak RSS of the run)")
    print("| size | variant | " + " | ".join(STAGES) + " | non-emb/emb | peak RSS MB | topics | outliers | NMI | ARI |")
    print("|---:|---|" + "---:|" * (len(STAGES) + 6))
    for r in results["runs"]:
        for v in r["variants"]:
            s = v["stages_s"]
            print(
                f"| {r['size']} | {v['variant']} | "
                + " | ".join(f"{s.get(k, 0.0):.1f}" for k in STAGES)
                + f" | {v['ratio']:.2f} | {r['peak_rss_mb']:.0f} | {v['topics']} | {v['outlier_share']:.1%} | "
                f"{v['nmi']:.3f} | {v['ari']:.3f} |"
            )
    for r in results["runs"]:
        for v in r["variants"]:
            met = v["ratio"] <= TARGET_RATIO and r["peak_rss_mb"] <= TARGET_PEAK_GB * 1024
            print(
                f"  {r['size']} {v['variant']}: ratio {v['ratio']:.2f} (<= {TARGET_RATIO}), peak "
                f"{r['peak_rss_mb'] / 1024:.2f} GB (<= {TARGET_PEAK_GB:.0f}): {'met' if met else 'NOT met'}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
