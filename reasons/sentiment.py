"""Is a message dissatisfied? Pure, no Dagster.

The platform's own signal wins: where a message has a 1-5 star rating, ``rating <= max_rating``;
otherwise VADER's compound score (offline lexicon, ``nltk-vader-sentiment``) below a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from vader import polarity_scores


@dataclass(frozen=True)
class DissatisfactionRule:
    max_rating: int = 2  # a rating at or below this is dissatisfied
    compound_threshold: float = -0.05  # without a rating: VADER compound strictly below this is dissatisfied


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(polarity_scores(text or "")["compound"])


def is_dissatisfied(rating: int | None, compound: float, rule: DissatisfactionRule = DissatisfactionRule()) -> bool:
    if rating is not None and not pd.isna(rating):
        return int(rating) <= rule.max_rating
    return compound < rule.compound_threshold


def score_messages(messages: pd.DataFrame, rule: DissatisfactionRule = DissatisfactionRule()) -> pd.DataFrame:
    """``sentiment`` (VADER compound) and ``dissatisfied`` for a frame with ``text`` and ``rating`` columns.

    Returns a frame aligned with ``messages`` (same index) holding just those two columns.
    """
    compound = np.array([sentiment(t) for t in messages["text"].astype(str)], dtype=np.float64)
    rating = (
        pd.to_numeric(messages["rating"], errors="coerce")
        if "rating" in messages
        else pd.Series(np.nan, index=messages.index)
    )
    has_rating = rating.notna().to_numpy()
    dissatisfied = np.where(
        has_rating, rating.fillna(0).to_numpy() <= rule.max_rating, compound < rule.compound_threshold
    )
    return pd.DataFrame({"sentiment": compound, "dissatisfied": dissatisfied.astype(bool)}, index=messages.index)
