"""Brand and product names a week's messages carry, to keep out of topic keywords and labels. Pure.

The dbt staging model cleans the text (``text_modelling``) and lists each message's @mentions; a
brand's handle is split into its words (``@AmericanAir`` → ``americanair``, ``american``, ``air``), so the
name written out ("American Air") does not become a topic's keyword either. Configured names
(``TopicModelParams.stop_words``) join them in the fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# words of company names and handles that name no brand ("Experian Information Solutions Inc.",
# "@united_help"): they stay available as keywords
GENERIC = frozenset(
    [
        "inc",
        "llc",
        "ltd",
        "plc",
        "corp",
        "corporation",
        "company",
        "co",
        "services",
        "service",
        "solutions",
        "information",
        "financial",
        "group",
        "holdings",
        "national",
        "association",
        "na",
        "us",
        "usa",
        "help",
        "support",
        "care",
        "team",
        "official",
        "bank",
        "credit",
        "card",
        "of",
        "the",
        "and",
    ]
)


def handle_words(handle: str) -> set[str]:
    """``AmericanAir`` → {americanair, american, air}; ``united_help`` → {united_help, united, help}."""
    handle = handle.lstrip("@")
    words = {handle.lower()} if handle else set()
    for chunk in re.split(r"[_\W]+", handle):
        words.add(chunk.lower())
        words.update(p.lower() for p in _PARTS.findall(chunk))
    return {w for w in words if len(w) >= 2 and not w.isdigit() and w not in GENERIC}


def brand_terms(mentions: Iterable[Iterable[str] | None] = (), names: Iterable[str] = ()) -> tuple[str, ...]:
    """Every word of the week's @mentions (one list per message, None for none) and of ``names``
    (configured brand or product names, or a company field: "Experian Information Solutions Inc.")."""
    words: set[str] = set()
    for handles in mentions:
        for handle in handles if handles is not None else ():
            words |= handle_words(str(handle))
    for name in names:
        words.update(w for w in re.findall(r"[a-z]+", str(name).lower()) if len(w) >= 2 and w not in GENERIC)
    return tuple(sorted(words))


def keyword_texts(messages: pd.DataFrame) -> list[str]:
    """What a fit's keywords and labels read of each message: its cleaned ``text_modelling`` where the
    messages carry one (the marts, or a corpus cleaned the same way), else its ``text``."""
    column = "text_modelling" if "text_modelling" in messages else "text"
    return messages[column].astype(str).tolist()
