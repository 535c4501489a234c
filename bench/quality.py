"""Reason quality on real, human-labelled data (a script, not a test), per part: development and held out.

    .venv/bin/python bench/quality.py [--configs baseline,current] [--corpora cfpb,products,banking77]
        [--parts dev,held-out] [--seeds 42,7,2026] [--policy FILE] [--dissatisfaction MODEL.json] [--json]

Each corpus has a development part (where defaults are chosen) and a held-out part (only graded; the CI
floors read it): ``reasons.corpora``. Each corpus runs through what ``reasonlake evaluate --labelled FILE`` runs
on a team's own sample (``reasons.evaluation_report.evaluate_sample``, the cleaning of ``reasonlake/cli/evaluate.py``). The pipeline's own dissatisfaction classifier (the committed one, or
``--dissatisfaction``) decides which messages count, as in the weekly graph and the alert job; the human
labels grade. Alert precision is strict: an alert is right when the message's own label (any of them) is the
majority label of the reason it was alerted for. Corpora (read from ``../shared/data``, never copied):

- **CFPB** complaints (4,393 real narratives, five ISO weeks, the consumer's own issue label): development
  2023-W22–W23, held out W24–W26. Each week but a part's last is fitted, grouped, registered and elected one
  by one; each next week is streamed through the model as the alert job would (``reasons.evaluation``).
  Per week: true top-3 hits, alert precision and recall, alerts on messages that do not complain, reason
  purity, NMI/ARI; once with CFPB's 63 issues, once with issue families (the three credit-report issues
  are one complaint filed three ways: the grain the issue grades).
- **Product reviews** (CESAMARD-Aspect, 3,876 dated amazon.in reviews, complaint or not, the aspects that
  went wrong; MIT): periods of four ISO weeks (``reasons.corpora.product_frame``), development before
  2020-W49, held out from it on.
- **Banking77**: NMI/ARI of one fit of ``train.csv`` (development) and of ``test.csv`` (held out).
- **Airline tweets** (``--airline PATH``, not in ``../shared``: Twitter US Airline Sentiment's
  ``Tweets.csv``, CC BY-NC-SA 4.0, 14,640 tweets to six US airlines, February 2015, the crowd's reason for
  each negative one), social-media complaints to several brands: the first ISO week fitted and elected, the
  second streamed (``--corpora`` without ``cfpb,banking77`` runs it alone); also the dissatisfaction
  classifier's precision and recall against the crowd's "negative".

Configurations: ``baseline`` is the fit and grouping before the work on real complaints
(docs/history/results-journal.md, section "Reasons on real complaints": raw embeddings, a fixed 0.68
grouping threshold, no catch-all check, every topic member alerts, no brand words); ``current`` the
defaults; ``coherence-R`` the defaults with catch-alls refused under R × the week's median topic
coherence (R in 0.5, 0.85, 0.9, 0.95; the default is 0.7); ``split-off`` the defaults without splitting
catch-alls in the fit, ``split-all`` splitting every catch-all whatever its size (the default splits only
those holding half the week), ``split-all-0.85`` that with catch-alls refused under 0.85;
``alert-floor-F`` the defaults alerting only at a cosine of at least F (0.5, 0.6, 0.7) to the topic's
centroid, besides the topic's own core; ``quiet-off`` the defaults with every elected reason alerting,
``quiet-R`` with reasons under R × the week's median topic coherence quiet (0.9, 1.0; the default is 0.8);
``group-split-off`` keeps loose groups of topics whole, ``group-split-0.9`` splits them under 0.9 × that
median (the default is 0.8); ``fit-space-R`` also splits groups whose messages sit under R × that median
from their centre in the fit's own space (0.5, 0.6; off by default); ``init-spectral`` and ``init-random``
start UMAP from its own default layout or a random one (the default starts from PCA: reproducible);
``week-bar-off`` elects reasons no tighter than the week as a whole, ``week-bar-B`` refuses those under B ×
the week's coherence (1.0, 1.1; the default is 1.05); ``group-sd-S`` groups topics into one reason at the
week's mean pairwise centroid cosine + S standard deviations (0.5, 0.75, 1.5, 2.0, 3.0; the default is 1.0).
``--seeds`` fits CFPB and the product reviews once per seed (UMAP's and the sampling's) and prints the mean:
one seed's figures move by about ±0.1 (docs/history/results-journal.md, section "How much the figures move").
Embeddings are cached under ``--cache`` (keyed by the texts and the model).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.configs import configs  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CFPB = SHARED / "cfpb" / "complaints.csv"
BANKING77 = SHARED / "banking77" / "test.csv"
BANKING77_DEV = SHARED / "banking77" / "train.csv"
PRODUCTS = SHARED / "product_complaints" / "complaints.csv"
PARTS = {"dev": False, "held-out": True}


def embeddings_for(texts: list[str], cache: Path):
    import inspect

    import numpy as np

    from reasons.embedding.backends import EMBEDDING_MODEL, load_embedder
    from reasons.embedding.vectors import embed

    # how embed() batches (its code, default batch size included) moves the vectors by float rounding,
    # and the figures with them: part of the key
    batching = inspect.getsource(embed)
    key = hashlib.sha256(json.dumps([EMBEDDING_MODEL, batching, texts]).encode()).hexdigest()[:16]
    path = cache / f"embeddings-{key}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    vectors = embed(
        load_embedder(), texts, progress=lambda done, total: print(f"  embedded {done}/{total}", flush=True)
    )
    print(f"embedded {len(texts)} texts in {time.perf_counter() - started:.0f}s", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def phrase_embedder():
    """The embedding model as the weekly fit uses it to re-rank label phrases."""
    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed

    model = load_embedder()
    return lambda texts: embed(model, texts)


def evaluate(
    title: str,
    name: str,
    seed: int,
    sample,
    embeddings,
    grains: dict,
    stop_words,
    policy_file: Path | None = None,
    no_reason: tuple[str, ...] = (),
    model_file: Path | None = None,
    alert_threshold: float | None = None,
    judge: bool = True,
):
    """``sample``'s weeks fitted, elected and streamed under configuration ``name`` by the function
    ``reasonlake evaluate`` runs (``reasons.evaluation_report.evaluate_sample``), counted at each of ``grains``
    under the election policy of ``policy_file`` (None: the shipped one); with ``judge`` the pipeline's
    dissatisfaction verdict (the committed classifier, or the one at ``model_file``, alerting at
    ``alert_threshold``, default the rule's) acts and the labels grade. Prints each week and each elected reason
    (its majority issue and share, its coherence against the week's); per grain the summary and the weeks,
    and the evaluation."""
    from reasons.election.policy import load_policy
    from reasons.evaluation import summary
    from reasons.evaluation_report import evaluate_sample
    from reasons.sentiment import ALERT_THRESHOLD, DissatisfactionRule, load_model

    params, registry, _ = configs()[name]
    params = replace(params, seed=seed)
    policy, _ = load_policy(policy_file)
    model = load_model(model_file)
    alert_threshold = ALERT_THRESHOLD if alert_threshold is None else alert_threshold
    rule = DissatisfactionRule(threshold=model.threshold, alert_threshold=alert_threshold)
    print(f"{title}, {name}, seed {params.seed} ({', '.join(grains)}):", flush=True)
    evaluation = evaluate_sample(
        sample,
        embeddings,
        policy,
        params=params,
        registry=registry,
        stop_words=stop_words,
        embed=phrase_embedder() if params.phrase_labels else None,
        judge=judge,
        model=model,
        rule=rule,
        grains=grains,
        no_reason=no_reason,
        log=lambda line: print("  " + line, flush=True),
    )
    out = {}
    for grain, weeks in evaluation.grains.items():
        for q in weeks:
            profile = ", ".join(
                f"{label!r} ({issue}): majority {share:.0%}, {tight:.2f} × the week's coherence"
                for label, issue, share, tight in zip(
                    q.elected_labels, q.elected, q.elected_majority_share, q.elected_week_coherence
                )
            )
            print(f"    [{grain}] {q.week} true top 3 {q.truth}; elected {profile}", flush=True)
        out[grain] = {"summary": summary(weeks), "weeks": [asdict(q) for q in weeks]}
        print(f"  {grain}: {out[grain]['summary']}", flush=True)
    return out, evaluation


def cleaned(frame):
    """``frame`` with the columns the pipeline's staging model adds (``reasonlake evaluate``'s cleaning). The
    embeddings stay those of the text as read (the cache's key): the pipeline embeds the redacted text with its
    whitespace collapsed, which is the same text wherever nothing is redacted (all of CFPB and Banking77)."""
    from reasonlake.cli.evaluate import cleaned as staged

    return staged(frame, lambda line: print("  " + line, flush=True))


def labelled(frame, title: str, complaints: bool):
    """A corpus frame (``reasons.corpora``) as ``reasonlake evaluate`` reads a team's file."""
    from reasons.labelled import LabelledSample

    return LabelledSample(frame=frame, source=title, has_complaints=complaints)


def run_cfpb(name: str, cache: Path, seed: int, part: str, policy_file=None, model_file=None, bar=None) -> dict:
    from reasons.corpora import CFPB_FAMILIES, CFPB_STOP_WORDS, cfpb_frame, cfpb_part
    from reasons.text import brand_terms

    frame = cfpb_frame(CFPB)
    stop = brand_terms(names=frame["company"].dropna().unique()) + CFPB_STOP_WORDS
    frame = cfpb_part(frame, PARTS[part]).reset_index(drop=True)
    channel = configs()[name][2]
    frame = cleaned(frame) if channel else frame
    grains = {"issues": None, "families": CFPB_FAMILIES}
    embeddings = embeddings_for(frame["text"].tolist(), cache)
    sample = labelled(frame, f"CFPB {part}", complaints=False)  # every narrative a complaint; the classifier acts
    args = (sample, embeddings, grains, stop if channel else (), policy_file, (), model_file, bar)
    return evaluate(f"CFPB {part}", name, seed, *args)[0]


def run_products(name: str, cache: Path, seed: int, part: str, policy_file=None, model_file=None, bar=None) -> dict:
    """The product reviews' development or held-out periods; the dissatisfaction classifier's figures there."""
    from reasons.corpora import product_frame, product_part

    frame = product_part(product_frame(PRODUCTS), PARTS[part]).reset_index(drop=True)
    frame = cleaned(frame) if configs()[name][2] else frame
    embeddings = embeddings_for(frame["text"].tolist(), cache)
    sample = labelled(frame, f"Product reviews {part}", complaints=True)
    args = (sample, embeddings, {"aspects": None}, (), policy_file, (), model_file, bar)
    out, evaluation = evaluate(f"Product reviews {part}", name, seed, *args)
    dissatisfaction = evaluation.dissatisfaction["all"]
    print(f"product reviews {part}: dissatisfaction {dissatisfaction}", flush=True)
    return out | {"dissatisfaction": dissatisfaction}


def run_airline(name: str, cache: Path, path: Path, seed: int, policy_file: Path | None = None) -> dict:
    """Social-media complaints to several brands, a channel no shipped corpus covers: the first
    week fitted and elected, the second streamed; dissatisfied as the crowd marked them (negative)."""
    from reasons.corpora import AIRLINE_NO_REASON, airline_frame
    from reasons.text import brand_terms

    frame = airline_frame(path)
    channel = configs()[name][2]
    frame = cleaned(frame) if channel else frame
    stop = brand_terms(mentions=frame["mentions"], names=frame["company"].unique()) if channel else ()
    embeddings = embeddings_for(frame["text"].tolist(), cache)
    sample = labelled(frame, "Airline tweets", complaints=True)
    args = (sample, embeddings, {"airline": None}, stop, policy_file, (AIRLINE_NO_REASON,))
    return evaluate("Airline tweets", name, seed, *args, judge=False)[0]


def airline_dissatisfaction(cache: Path, path: Path) -> dict:
    """The dissatisfaction classifier against the crowd's "negative", at its threshold and at others."""
    from reasons.corpora import airline_frame
    from reasons.sentiment import binary_metrics, score_messages

    frame = airline_frame(path)
    truth = frame["dissatisfied"].to_numpy()
    judged = score_messages(frame[["text"]], embeddings_for(frame["text"].tolist(), cache))
    out = {"default": binary_metrics(truth, judged["dissatisfied"])}
    for threshold in (0.5, 0.6, 0.7, 0.8):
        out[str(threshold)] = binary_metrics(truth, judged["dissatisfaction"].to_numpy() >= threshold)
    return out


def run_banking77(name: str, cache: Path, part: str) -> dict:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from reasons.naming import label_naming
    from reasons.topics.fit import fit_topics
    from reasons.topics.labels import keyword_label

    params, _, _ = configs()[name]
    frame = pd.read_csv(BANKING77 if PARTS[part] else BANKING77_DEV)
    embeddings = embeddings_for(frame["text"].tolist(), cache)
    embed = phrase_embedder() if params.phrase_labels else None
    fit = fit_topics(frame["text"].tolist(), embeddings, params, embed=embed)
    naming = label_naming(fit, frame["category"])
    result = {
        "nmi": normalized_mutual_info_score(frame["category"], fit.doc_topics),
        "ari": adjusted_rand_score(frame["category"], fit.doc_topics),
        "topics": len(fit.topics),
        "label_naming": naming["labels"],
        "keyword_label_naming": naming["keywords"],
        "labels": [
            (keyword_label(t.keywords, params.label_words, set(), t.topic_id), t.label) for t in fit.topics[:10]
        ],
    }
    print(f"Banking77 {part}, {name}: {result}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="baseline,current")
    parser.add_argument("--corpora", default="cfpb,products,banking77")
    parser.add_argument("--parts", default="dev,held-out", help="dev, held-out or both (comma-separated)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".reasonlake" / "bench-cache")
    parser.add_argument("--seeds", default="42", help="CFPB and products fitted once per seed (comma-separated)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--airline", type=Path, help="Twitter US Airline Sentiment's Tweets.csv (not shipped: CC BY-NC-SA 4.0)"
    )
    parser.add_argument(
        "--policy", type=Path, help="an election policy YAML (default: the shipped reasons/election/policy.yaml)"
    )
    parser.add_argument("--dissatisfaction", type=Path, help="another dissatisfaction model JSON (default: committed)")
    parser.add_argument(
        "--alert-threshold", type=float, help="P(dissatisfied) an alert needs (default: the rule's; 0: no bar)"
    )
    args = parser.parse_args(argv)
    needed = {"cfpb": CFPB, "banking77": BANKING77, "products": PRODUCTS}
    missing = [p for name, p in needed.items() if name in args.corpora and not p.exists()]
    if args.airline and not args.airline.exists():
        missing.append(args.airline)
    if missing:
        print(f"missing shared data: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    results: dict = {}
    seeds = [int(v) for v in args.seeds.split(",")]
    runners = {"cfpb": run_cfpb, "products": run_products}
    for name in args.configs.split(","):
        for part in args.parts.split(","):
            for corpus, run in runners.items():
                if corpus in args.corpora:
                    results.setdefault(name, {})[f"{corpus} {part}"] = {
                        seed: run(name, args.cache, seed, part, args.policy, args.dissatisfaction, args.alert_threshold)
                        for seed in seeds
                    }
            if "banking77" in args.corpora:
                results.setdefault(name, {})[f"banking77 {part}"] = run_banking77(name, args.cache, part)
        if args.airline:
            results.setdefault(name, {})["airline"] = {
                seed: run_airline(name, args.cache, args.airline, seed, args.policy) for seed in seeds
            }
    dissatisfaction = airline_dissatisfaction(args.cache, args.airline) if args.airline else None
    print_table(results)
    if dissatisfaction:
        print(f"airline tweets, dissatisfaction against the crowd's 'negative' (by threshold): {dissatisfaction}")
    if args.json:
        extra = {"airline dissatisfaction": dissatisfaction} if dissatisfaction else {}
        args.json.write_text(json.dumps(results | extra, indent=1, default=str))
    return 0


def print_table(results: dict) -> None:
    print(
        "\nconfig     corpus            grain     seed  top-3 hits  weeks ≥2  all 3  alert precision  recall"
        "  on no complaint  purity  NMI  reasons naming their issue  topics naming theirs (keyword labels)"
        "  praise labels"
    )
    for name, result in results.items():
        for corpus, by_seed in result.items():
            if corpus.startswith("banking77"):
                b = by_seed
                print(
                    f"{name:<10} {corpus:<17} NMI {b['nmi']:.3f}, ARI {b['ari']:.3f}, labels naming the intent "
                    f"{b['label_naming']:.2f} (keyword labels {b['keyword_label_naming']:.2f})"
                )
                continue
            grains = [g for g in next(iter(by_seed.values()), {}) if g != "dissatisfaction"]
            for grain in grains:
                rows = [(str(seed), figures[grain]["summary"]) for seed, figures in by_seed.items()]
                if len(rows) > 1:
                    rows.append(("mean", {k: sum(s[k] for _, s in rows) / len(rows) for k in rows[0][1]}))
                for seed, s in rows:
                    print(
                        f"{name:<10} {corpus:<17} {grain:<9} {seed:>4} {s['mean_hits']:>11.2f} "
                        f"{s['weeks_with_2_hits']:>9.2f} {s['weeks_all_3']:>6.2f} {s['alert_precision']:>16.3f} "
                        f"{s['alert_recall']:>7.2f} {s['alerts_not_complaining']:>16.2f} {s['purity']:>7.2f} "
                        f"{s['nmi']:>4.2f}  {s.get('reason_naming', float('nan')):>26.2f}  "
                        f"{s['label_naming']:.2f} ({s['keyword_label_naming']:.2f})"
                        f"  {s.get('praise_labels', float('nan')):.2f}"
                    )
            first = next(iter(by_seed.values()), {})
            if "dissatisfaction" in first:
                print(f"{name:<10} {corpus:<17} dissatisfaction {first['dissatisfaction']}")


if __name__ == "__main__":
    raise SystemExit(main())
