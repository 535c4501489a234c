"""Do labels name what went wrong? Pure measures of a labelling against human labels (``reasons.evaluation``
and ``bench/quality.py`` report them).

- :func:`label_naming`: the share of a fit's **topics** whose label names the topic's majority label (all its
  messages), for the fit's labels and for plain keyword labels: the labelling method on a clustering corpus
  (Banking77, where every message has an intent).
- :func:`reason_naming`: the share of a week's **reasons** whose label names the majority label of their
  dissatisfied messages: what a user reads next to a reason (product reviews, where most of a topic may be
  praise of the object whose complaints it also holds).
- :func:`praise_share`: the share of labels that read as praise (VADER), a label naming the scene.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from reasons.sentiment import sentiment
from reasons.topics.labels import keyword_label
from reasons.topics.params import FitResult

# A row that carries several human labels joins them with this (a complaint about packaging and service)
LABEL_SEPARATOR = "; "


def label_set(value: object) -> tuple[str, ...]:
    """The human labels of one row (:data:`LABEL_SEPARATOR`-joined; a row with one label gives one)."""
    return tuple(v for v in str(value).split(LABEL_SEPARATOR) if v) or (str(value),)


def label_counts(values: Iterable[object]) -> Counter[str]:
    """How many rows carry each label (a row of several labels counts once for each)."""
    return Counter(label for v in values for label in set(label_set(v)))


_NAME_WORDS = re.compile(r"[a-z]+")
_NOT_NAMING = {
    "a", "an", "and", "are", "as", "at", "by", "can", "do", "for", "from", "how", "i", "in", "is", "it", "me",
    "my", "not", "of", "on", "or", "the", "to", "was", "what", "why", "with", "you", "your", "up", "into",
}  # fmt: skip


def _stems(text: str) -> set[str]:
    return {w for w in _NAME_WORDS.findall(str(text).lower().replace("_", " ")) if w not in _NOT_NAMING}


def _same_word(a: str, b: str) -> bool:
    """Equal but for a plural, or inflections of one word: a common start of 6+ letters missing at most
    3 letters of the shorter word ("withdrawal"/"withdrawing", "declined"/"decline", not "transfer"/
    "transaction")."""
    a, b = (w[:-1] if len(w) > 3 and w.endswith("s") else w for w in (a, b))
    common = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return a == b or common >= max(6, min(len(a), len(b)) - 3)


def names_issue(label: str, issue: str) -> bool:
    """Whether ``label`` names ``issue``: they share a content word (``"card was declined"`` names
    ``declined_card_payment``; ``"kept declined excited"`` does too, ``"apple watch"`` does not name
    ``card_arrival``). Crude on purpose: the same measure is applied to every labelling compared."""
    return any(_same_word(a, b) for a in _stems(label) for b in _stems(issue))


def _rate(values: list[bool]) -> float:
    return float(np.mean(values)) if values else float("nan")


def label_naming(fit: FitResult, labels: pd.Series) -> dict[str, float]:
    """Share of ``fit``'s topics whose label names the topic's majority human label (``labels`` aligned
    with the fit's messages): ``labels`` for the fit's own labels, ``keywords`` for keyword labels."""
    truth = labels.astype(str).to_numpy()
    used: set[str] = set()
    mine, keywords = [], []
    for t in fit.topics:
        members = truth[fit.doc_topics == t.topic_id]
        if not len(members):
            continue
        issue = label_counts(members).most_common(1)[0][0]
        mine.append(names_issue(t.label, issue))
        keywords.append(names_issue(keyword_label(t.keywords, fit.params.label_words, used, t.topic_id), issue))
    return {"labels": _rate(mine), "keywords": _rate(keywords)}


def reason_naming(labels: Mapping[str, str], majorities: Mapping[str, str]) -> float:
    """Share of the reasons in ``majorities`` (reason id → the majority label of its dissatisfied messages)
    whose label in ``labels`` (reason id → label) names that majority label (NaN without any); a reason without a
    label (``not_a_reason``) names nothing."""
    return _rate([names_issue(labels.get(r, ""), issue) for r, issue in majorities.items()])


def praise_share(labels: Iterable[object]) -> float:
    """Share of ``labels`` that read as praise (VADER compound above 0.05; NaN without any)."""
    return _rate([sentiment(str(label)) > 0.05 for label in labels])
