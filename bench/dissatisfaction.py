"""Dissatisfaction benchmark (a script, not a test): the old rule against the committed classifier.

    .venv/bin/python bench/dissatisfaction.py [--cfpb 600] [--json out.json]

For the old rule (VADER compound of the whole text < -0.05) and the committed classifier
(``reasons/data/dissatisfaction.json``, threshold as committed), both without a rating:

1. precision / recall / F1 of "dissatisfied" on the held-out split of the UCI Sentiment Labelled
   Sentences (600 sentences, never trained on);
2. recall on ``--cfpb`` real CFPB complaint narratives of the held-out weeks (``../shared/data/cfpb``; all
   complaints);
3. the probe complaints without negative words and the praise, thanks and questions of ``reasons.corpora``
   (written apart from any training line; share judged right);
4. cost per message (ms, one process, 2 cores): the rule alone (embedding excluded) and with the
   all-MiniLM-L6-v2 embedding included (fp32, ``embed`` in batches of 128), on short (UCI) and long
   (CFPB) texts;
5. ablations, retrained here with the committed recipe on the same embeddings: without the
   hand-written examples, and with VADER of the whole text instead of the most negative sentence.

Prints the figures and the machine; ``--json`` writes them too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from reasons.corpora import COMPLAINTS, NOT_COMPLAINTS, cfpb_frame, cfpb_part  # noqa: E402
from reasons.embedding.backends import load_embedder  # noqa: E402
from reasons.embedding.vectors import embed  # noqa: E402
from reasons.sentiment import (  # noqa: E402
    DissatisfactionModel,
    binary_metrics,
    held_out_mask,
    labelled_sentences,
    load_model,
    sentiment,
)

CFPB = ROOT.parent / "shared" / "data" / "cfpb" / "complaints.csv"
OLD = -0.05


def _training():
    spec = importlib.util.spec_from_file_location(
        "train_dissatisfaction", ROOT / "scripts" / "train_dissatisfaction.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ms_per(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return 1000.0 * best / max(n, 1)


def _ablation(training, rows: pd.DataFrame, emb: np.ndarray, vader) -> DissatisfactionModel:
    """The committed recipe (C, folds, threshold rule) on ``rows`` with the VADER feature ``vader``."""
    x = np.hstack([emb, np.array([[vader(t)] for t in rows["text"]])])
    y, w = rows["dissatisfied"].to_numpy(dtype=int), rows["weight"].to_numpy(dtype=float)
    threshold, _ = training.tune_threshold(x, y, w)
    lr = training._fit(x, y, w)
    return DissatisfactionModel(lr.coef_[0, :-1], float(lr.coef_[0, -1]), float(lr.intercept_[0]), threshold)


def run(cfpb_n: int) -> dict:
    model, embedder, training = load_model(), load_embedder(), _training()
    out: dict = {
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, no GPU used",
        "threshold": model.threshold,
    }
    uci = labelled_sentences()
    held = uci[held_out_mask(uci)].reset_index(drop=True)
    texts = held["text"].tolist()
    started = time.perf_counter()
    emb = embed(embedder, texts)
    embed_ms_short = 1000.0 * (time.perf_counter() - started) / len(texts)
    truth = held["dissatisfied"].to_numpy(dtype=bool)
    p = model.score_texts(texts, emb)
    out["uci_held_out"] = {
        "n": len(held),
        "old_rule": binary_metrics(truth, [sentiment(t) < OLD for t in texts]),
        "classifier": binary_metrics(truth, p >= model.threshold),
    }
    out["cost_ms_per_message"] = {
        "old_rule": _ms_per(lambda: [sentiment(t) < OLD for t in texts], len(texts)),
        "classifier_without_embedding": _ms_per(lambda: model.score_texts(texts, emb) >= model.threshold, len(texts)),
        "embedding_short_uci": embed_ms_short,
    }
    out["cost_ms_per_message"]["classifier_with_embedding_short"] = (
        out["cost_ms_per_message"]["classifier_without_embedding"] + embed_ms_short
    )

    phrases = COMPLAINTS + NOT_COMPLAINTS
    pp = model.score_texts(phrases, embed(embedder, phrases)) >= model.threshold
    old_pp = np.array([sentiment(t) < OLD for t in phrases])
    k = len(COMPLAINTS)
    out["phrases"] = {
        "old_rule": {"complaints_caught": int(old_pp[:k].sum()), "others_flagged": int(old_pp[k:].sum())},
        "classifier": {"complaints_caught": int(pp[:k].sum()), "others_flagged": int(pp[k:].sum())},
        "complaints": k,
        "others": len(NOT_COMPLAINTS),
    }

    cf_texts: list[str] = []
    cf_emb = np.zeros((0, 384), dtype=np.float32)
    if CFPB.exists() and cfpb_n:
        held = cfpb_part(cfpb_frame(CFPB), held_out=True)  # the weeks the classifier never trained on
        cf_texts = held.sample(cfpb_n, random_state=0)["narrative"].astype(str).tolist()
        started = time.perf_counter()
        cf_emb = embed(embedder, cf_texts)
        embed_ms_long = 1000.0 * (time.perf_counter() - started) / len(cf_texts)
        cost = out["cost_ms_per_message"]
        cost["embedding_long_cfpb"] = embed_ms_long
        cost["old_rule_long"] = _ms_per(lambda: [sentiment(t) < OLD for t in cf_texts], len(cf_texts), 1)
        cost["classifier_without_embedding_long"] = _ms_per(
            lambda: model.score_texts(cf_texts, cf_emb) >= model.threshold, len(cf_texts), 1
        )
        cost["classifier_with_embedding_long"] = cost["classifier_without_embedding_long"] + embed_ms_long
        out["cfpb_recall"] = {
            "n": len(cf_texts),
            "old_rule": float(np.mean([sentiment(t) < OLD for t in cf_texts])),
            "classifier": float(np.mean(model.score_texts(cf_texts, cf_emb) >= model.threshold)),
        }

    rows, _ = training.training_split()
    rows_emb = embed(embedder, rows["text"].tolist())
    uci_only = (rows["source"] != "handwritten").to_numpy()
    phrase_emb = embed(embedder, phrases)
    out["ablations"] = {}
    for name, keep, vader in (
        ("without hand-written examples", uci_only, training.sentence_sentiment),
        ("VADER of the whole text as the feature", np.ones(len(rows), dtype=bool), sentiment),
    ):
        variant = _ablation(training, rows[keep], rows_emb[keep], vader)
        judge = lambda ts, e, variant=variant, vader=vader: (
            variant.probability(e, [vader(t) for t in ts]) >= (variant.threshold)
        )
        said = judge(phrases, phrase_emb)
        entry = {
            "threshold": variant.threshold,
            "uci_held_out": binary_metrics(truth, judge(texts, emb)),
            "complaints_caught": int(said[:k].sum()),
            "others_flagged": int(said[k:].sum()),
        }
        if cf_texts:
            entry["cfpb_recall"] = float(np.mean(judge(cf_texts, cf_emb)))
        out["ablations"][name] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfpb", type=int, default=600, help="CFPB narratives to score (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    out = run(args.cfpb)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
