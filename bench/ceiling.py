"""How well can CFPB's exact issues be told apart at all? A supervised probe, the yardstick's ceiling.

An early target asked alert precision ≥ 0.8 on CFPB's exact issues (docs/history/results-journal.md, section
"Reasons on real complaints"). Its top three issues are one complaint seen three ways ("Incorrect information
on your report", "Problem with a credit reporting company's investigation…", "Improper use of your report":
the consumer picks one). This trains a classifier on the labels themselves (TF-IDF of the narratives,
1–2-grams, logistic regression; weeks 1–4), tests it on week 5, and prints its precision and recall on those
three issues: at every prediction, then only where its probability reaches each ``--thresholds`` value
(abstaining below). The unsupervised pipeline never sees a label, so what the classifier reaches bounds what
topics can.

    .venv/bin/python bench/ceiling.py [--thresholds 0,0.5,0.6,0.7,0.8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.quality import CFPB  # noqa: E402
from reasons.corpora import CFPB_CREDIT_REPORT, cfpb_frame  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", default="0,0.5,0.6,0.7,0.8")
    parser.add_argument("--labels", type=int, default=8, help="the most frequent issues kept; the rest is 'other'")
    args = parser.parse_args(argv)
    if not CFPB.exists():
        print(f"missing shared data: {CFPB}", file=sys.stderr)
        return 2
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    frame = cfpb_frame(CFPB)
    weeks = sorted(frame["week"].unique())
    train, test = frame[frame["week"].isin(weeks[:-1])], frame[frame["week"] == weeks[-1]]
    kept = frame["label"].value_counts().index[: args.labels]
    y_train = train["label"].where(train["label"].isin(kept), "other").to_numpy()
    y_test = test["label"].where(test["label"].isin(kept), "other").to_numpy()
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), max_features=50_000)
    model = LogisticRegression(max_iter=2000, C=5).fit(vectorizer.fit_transform(train["text"]), y_train)
    proba = model.predict_proba(vectorizer.transform(test["text"]))
    predicted = model.classes_[proba.argmax(axis=1)]
    credit = np.isin(predicted, CFPB_CREDIT_REPORT)
    relevant = np.isin(y_test, CFPB_CREDIT_REPORT)
    print(f"trained on {len(train)} complaints ({', '.join(weeks[:-1])}), tested on {len(test)} ({weeks[-1]})")
    print("threshold  predictions  precision  recall   (the three credit-report issues)")
    for threshold in (float(v) for v in args.thresholds.split(",")):
        answered = credit & (proba.max(axis=1) >= threshold)
        right = answered & (predicted == y_test)
        precision = right.sum() / max(answered.sum(), 1)
        print(f"{threshold:>9.2f} {answered.sum():>12d} {precision:>10.3f} {right.sum() / relevant.sum():>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
