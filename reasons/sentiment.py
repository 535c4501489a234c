"""Is a message dissatisfied? No Dagster, no PyFlink; reads only its committed model file (below).

The platform's own signal wins: where a message has a 1-5 star rating, ``rating <= max_rating``.
Without a rating, a small logistic regression gives P(dissatisfied) from the message's sentence
embedding (all-MiniLM-L6-v2, the raw unit-norm vector the topic fit uses) and VADER's compound score
of its most negative sentence (offline lexicon, ``nltk-vader-sentiment``); the message is dissatisfied
at or above the rule's ``threshold``. The model is the committed ``reasons/data/dissatisfaction.json``,
trained by ``scripts/train_dissatisfaction.py`` on the committed labelled sentences
(``reasons/data/README.md``): a complaint without negative words ("on hold for 2 hours and counting")
counts, praise with one ("the app never crashes") does not. Measurements: ``bench/RESULTS.md``, "Quality on
held-out parts".

VADER's compound of the whole text stays the ``sentiment`` the marts and reports show. As a feature it
is taken per sentence (the minimum): over a long text the whole-text compound saturates towards +1 or
-1 with the count of words, and a formal complaint letter full of "please" and "accurate" reads +0.96.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from vader import polarity_scores

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = DATA_DIR / "dissatisfaction.json"
UCI_DIR = DATA_DIR / "sentiment_labelled_sentences"
UCI_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
HANDWRITTEN_FILE = DATA_DIR / "handwritten_examples.txt"
HELD_OUT_SEED = 12  # the held-out split of the UCI sentences: never trained on, the quality tests' yardstick
HELD_OUT_SHARE = 0.2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentiment(text: str) -> float:
    """VADER compound score of the whole text, in [-1, 1]."""
    return float(polarity_scores(text or "")["compound"])


def sentence_sentiment(text: str, whole: float | None = None) -> float:
    """VADER compound of the text's most negative sentence (the classifier's VADER feature). ``whole``:
    the text's own :func:`sentiment` when the caller has it, the answer for a text of one sentence
    (VADER is then not run on it twice)."""
    sentences = [s for s in _SENTENCE_END.split(text or "") if s.strip()]
    if len(sentences) <= 1:
        return sentiment(text) if whole is None else whole
    return min(sentiment(s) for s in sentences)


@dataclass(frozen=True, eq=False)
class DissatisfactionModel:
    """Logistic regression: P(dissatisfied) = sigmoid(embedding · coef + vader_coef · vader + intercept)."""

    coef: np.ndarray  # one weight per embedding dimension
    vader_coef: float  # weight of sentence_sentiment()
    intercept: float
    threshold: float  # tuned at training: the default of DissatisfactionRule.threshold
    embedding_model: str = ""  # the embedding model the weights are for
    meta: dict = field(default_factory=dict)  # training data digest, recipe, metrics

    def probability(self, embeddings: np.ndarray, vader: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(dissatisfied) per row of ``embeddings`` (raw embeddings), with each row's VADER feature."""
        x = np.asarray(embeddings, dtype=np.float64)
        v = np.asarray(vader, dtype=np.float64)
        if len(v) == 0:
            return np.zeros(0, dtype=np.float64)
        if x.ndim != 2 or x.shape != (len(v), len(self.coef)):
            raise ValueError(
                f"expected {len(v)} embeddings of {len(self.coef)} dimensions ({self.embedding_model}), got {x.shape}"
            )
        z = x @ self.coef + self.vader_coef * v + self.intercept
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow

    def score_texts(
        self, texts: Sequence[str], embeddings: np.ndarray, sentiments: Sequence[float] | None = None
    ) -> np.ndarray:
        """P(dissatisfied) of ``texts`` whose raw embeddings are ``embeddings`` (same order); ``sentiments``:
        their whole-text :func:`sentiment` when the caller has computed it."""
        whole: Sequence[float | None] = [None] * len(texts) if sentiments is None else sentiments
        return self.probability(embeddings, [sentence_sentiment(str(t), w) for t, w in zip(texts, whole, strict=True)])

    def to_json(self) -> dict:
        return {
            **self.meta,
            "embedding_model": self.embedding_model,
            "threshold": self.threshold,
            "intercept": self.intercept,
            "vader_coef": self.vader_coef,
            "coef": [round(float(c), 7) for c in self.coef],
        }

    @classmethod
    def from_json(cls, data: dict) -> DissatisfactionModel:
        known = {"embedding_model", "threshold", "intercept", "vader_coef", "coef"}
        return cls(
            coef=np.asarray(data["coef"], dtype=np.float64),
            vader_coef=float(data["vader_coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            embedding_model=str(data.get("embedding_model", "")),
            meta={k: v for k, v in data.items() if k not in known},
        )


def load_model(path: Path | str | None = None) -> DissatisfactionModel:
    """The committed model (or the one at ``path``); read once per process and path."""
    return _load_model(str(Path(path) if path is not None else MODEL_FILE))


@functools.cache
def _load_model(path: str) -> DissatisfactionModel:
    try:
        return DissatisfactionModel.from_json(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no dissatisfaction model at {path}: build it with `python scripts/train_dissatisfaction.py`"
        ) from None


def _default_threshold() -> float:
    return load_model().threshold


# Without a rating, a message alerts only at or above this P(dissatisfied), though it counts as dissatisfied from
# the model's threshold on: chosen on the development parts (docs/history/results-journal.md, section "Held out"),
# where a complaint-or-not guess near the threshold was most of the alerts on reviews that complain about nothing
# (product reviews: 7.9% of alerts at 0.44, 0.6% at 0.75, recall 0.26 → 0.25; CFPB: no change).
ALERT_THRESHOLD = 0.75


@dataclass(frozen=True)
class DissatisfactionRule:
    max_rating: int = 2  # a message with a rating is dissatisfied at or below it (the rating wins)
    # without a rating: dissatisfied at or above this probability (default: the committed model's tuned threshold)
    threshold: float = field(default_factory=_default_threshold)
    # without a rating: may raise an alert at or above this probability (and ``threshold``)
    alert_threshold: float = ALERT_THRESHOLD


def is_dissatisfied(rating: int | float | None, probability: float, rule: DissatisfactionRule | None = None) -> bool:
    """One message: its rating where it has one, else its P(dissatisfied) against ``rule.threshold``
    (``rule`` defaults to ``DissatisfactionRule()``)."""
    rule = rule or DissatisfactionRule()
    if rating is not None and not pd.isna(rating):
        return int(rating) <= rule.max_rating
    return float(probability) >= rule.threshold


def is_alertable(rating: int | float | None, probability: float, rule: DissatisfactionRule | None = None) -> bool:
    """Whether one message is dissatisfied surely enough to raise an alert: its rating where it has one, else
    its P(dissatisfied) against the higher of ``rule.threshold`` and ``rule.alert_threshold``."""
    rule = rule or DissatisfactionRule()
    return is_dissatisfied(rating, probability, replace(rule, threshold=max(rule.threshold, rule.alert_threshold)))


def score_messages(
    messages: pd.DataFrame,
    embeddings: np.ndarray,
    rule: DissatisfactionRule | None = None,
    model: DissatisfactionModel | None = None,
) -> pd.DataFrame:
    """``sentiment`` (VADER compound), ``dissatisfaction`` (P(dissatisfied); NaN where a rating decides),
    ``dissatisfied`` and ``alertable`` (:func:`is_alertable`) for a frame with ``text`` (and optionally
    ``rating``) columns, aligned with ``messages.index``.

    ``embeddings`` are the raw (un-centred) embeddings of ``messages["text"]``, one row per message in
    order; ``rule`` defaults to ``DissatisfactionRule()``, ``model`` to the committed classifier.
    """
    rule = rule or DissatisfactionRule()
    texts = messages["text"].fillna("").astype(str).tolist()
    compound = np.array([sentiment(t) for t in texts], dtype=np.float64)
    rating = (
        pd.to_numeric(messages["rating"], errors="coerce")
        if "rating" in messages
        else pd.Series(np.nan, index=messages.index)
    )
    has_rating = rating.notna().to_numpy()
    # the classifier scores the messages without a rating only (a rating decides; NaN there)
    probability = np.full(len(texts), np.nan, dtype=np.float64)
    unrated = np.flatnonzero(~has_rating)
    if len(unrated):
        scored = (model or load_model()).score_texts(
            [texts[i] for i in unrated], np.asarray(embeddings)[unrated], compound[unrated].tolist()
        )
        probability[unrated] = scored
    rated_low = rating.fillna(0).to_numpy() <= rule.max_rating
    p = np.nan_to_num(probability)
    dissatisfied = np.where(has_rating, rated_low, p >= rule.threshold)
    alertable = np.where(has_rating, rated_low, p >= max(rule.threshold, rule.alert_threshold))
    return pd.DataFrame(
        {
            "sentiment": compound,
            "dissatisfaction": probability,
            "dissatisfied": dissatisfied.astype(bool),
            "alertable": alertable.astype(bool),
        },
        index=messages.index,
    )


# --- the committed training data -----------------------------------------------------------------------


def _labelled_lines(path: Path, source: str) -> list[tuple[str, str, bool]]:
    """``sentence<TAB>label`` lines (label 0 = negative = dissatisfied, 1 = not); split on ``\\n`` only."""
    rows = []
    for line in path.read_bytes().decode("utf-8").split("\n"):
        if line.strip():
            text, label = line.rsplit("\t", 1)
            rows.append((source, text.strip(), int(label) == 0))
    return rows


def labelled_sentences() -> pd.DataFrame:
    """The UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015): ``source``, ``text``, ``dissatisfied``."""
    rows = [r for name in UCI_FILES for r in _labelled_lines(UCI_DIR / name, name.split("_labelled")[0])]
    return pd.DataFrame(rows, columns=["source", "text", "dissatisfied"])


def handwritten_examples() -> pd.DataFrame:
    """The project's own hand-written examples (``reasons/data/README.md``), same columns."""
    return pd.DataFrame(_labelled_lines(HANDWRITTEN_FILE, "handwritten"), columns=["source", "text", "dissatisfied"])


def held_out_mask(frame: pd.DataFrame, seed: int = HELD_OUT_SEED, share: float = HELD_OUT_SHARE) -> np.ndarray:
    """True for the held-out rows of :func:`labelled_sentences`: ``share`` of every (source, label), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(frame), dtype=bool)
    for _, group in frame.reset_index(drop=True).groupby(["source", "dissatisfied"], sort=True):
        rows = rng.permutation(group.index.to_numpy())
        mask[rows[: round(len(rows) * share)]] = True
    return mask


def data_digest() -> str:
    """sha256 over the committed training files (names and bytes): what the committed model was trained on."""
    h = hashlib.sha256()
    for path in [UCI_DIR / name for name in UCI_FILES] + [HANDWRITTEN_FILE]:
        h.update(f"{path.name}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return h.hexdigest()


def binary_metrics(truth: Sequence[bool] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the positive class ("dissatisfied")."""
    t, p = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = float(np.sum(t & p))
    precision = tp / max(float(p.sum()), 1.0)
    recall = tp / max(float(t.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
