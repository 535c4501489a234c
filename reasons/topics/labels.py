"""Topic labels from keywords (``card declined payment``), unique within a model. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|s)$", "", word)


def keyword_label(keywords: Sequence[str], n_words: int, used: set[str], topic_id: int) -> str:
    """The first ``n_words`` distinct keywords (``card declined payment``), unique within the model."""
    words: list[str] = []
    for w in keywords:  # skip inflections of a word already in: "fee fees charged" -> "fee charged"
        if _stem(w) not in {_stem(x) for x in words}:
            words.append(w)
    for k in range(n_words, len(words) + 1):
        label = " ".join(words[:k])
        if label and label not in used:
            used.add(label)
            return label
    label = (" ".join(words[:n_words]) + f" #{topic_id}").strip()
    used.add(label)
    return label
