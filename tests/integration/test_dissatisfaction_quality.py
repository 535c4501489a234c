"""Dissatisfaction on real labelled data, with the real embedding model and the committed classifier.

Every floor reads a held-out part, never trained on nor used to choose anything (``reasons.corpora``):

- short review sentences: the held-out split of the UCI Sentiment Labelled Sentences (fixed by a seed):
  precision and recall of "dissatisfied" at least 0.85 each;
- product reviews (``../shared/data/product_complaints``, from 2020-W49 on; the annotators' complaint flag):
  precision and recall at least 0.85 each;
- long narratives: real CFPB consumer complaints of 2023-W24–W26 (every row is a complaint): recall at least 0.85;
- probe sentences written apart from any training line (none sits close to one): complaints without negative
  words count, praise, thanks and neutral questions do not;
- rebuilding the model from the committed data and the shared development parts gives the committed model.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reasons.corpora import COMPLAINTS, NOT_COMPLAINTS, cfpb_part
from reasons.embedding.backends import load_embedder
from reasons.embedding.vectors import embed
from reasons.sentiment import (
    DissatisfactionRule,
    binary_metrics,
    held_out_mask,
    labelled_sentences,
    load_model,
    score_messages,
    sentiment,
)
from tests.support.paths import REPO

# the CFPB embedding: 7 min alone, 12.5 beside another worker
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

FLOOR = 0.85
CFPB_SAMPLE = 600


class CachedEmbedder:
    """The fp32 model, each distinct text embedded once per test module."""

    def __init__(self) -> None:
        self.model = load_embedder()
        self.vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if todo:
            self.vectors.update(zip(todo, embed(self.model, todo)))
        return np.vstack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


@pytest.fixture(scope="module")
def embed_texts() -> CachedEmbedder:
    return CachedEmbedder()


@pytest.fixture(scope="module")
def held_out(embed_texts) -> tuple[pd.DataFrame, np.ndarray]:
    frame = labelled_sentences()
    part = frame[held_out_mask(frame)].reset_index(drop=True)
    return part, embed_texts(part["text"].tolist())


def test_held_out_precision_and_recall_of_dissatisfied(held_out):
    part, emb = held_out
    scored = score_messages(part, emb)
    new = binary_metrics(part["dissatisfied"], scored["dissatisfied"])
    old = binary_metrics(part["dissatisfied"], scored["sentiment"] < -0.05)
    print(f"held-out UCI ({len(part)} sentences): classifier {new}, VADER rule {old}")
    assert new["precision"] >= FLOOR and new["recall"] >= FLOOR, new
    assert new["f1"] > old["f1"]


def test_real_complaints_are_dissatisfied(cfpb):
    frame, embeddings = cfpb  # the session's CFPB embeddings (tests/integration/conftest.py)
    complaints = cfpb_part(frame, held_out=True).sample(CFPB_SAMPLE, random_state=0)
    messages = complaints.assign(text=complaints["narrative"].astype(str))
    scored = score_messages(messages, embeddings[complaints.index.to_numpy()])
    recall = float(scored["dissatisfied"].mean())
    print(
        f"CFPB recall on {len(messages)} narratives: {recall:.3f} (VADER rule {(scored['sentiment'] < -0.05).mean():.3f})"
    )
    assert list(scored.index) == list(messages.index)
    assert recall >= FLOOR


def test_held_out_product_reviews_are_told_complaint_or_not(held_out_products):
    part, embeddings = held_out_products  # tests/integration/conftest.py
    scored = score_messages(part[["text"]], embeddings)
    figures = binary_metrics(part["dissatisfied"], scored["dissatisfied"])
    print(f"held-out product reviews ({len(part)}): {figures}")
    assert figures["precision"] >= FLOOR and figures["recall"] >= FLOOR, figures


def test_complaints_without_negative_words_count_and_praise_does_not(embed_texts):
    assert not all(sentiment(t) < -0.05 for t in COMPLAINTS)  # what a lexicon alone misses
    texts = COMPLAINTS + NOT_COMPLAINTS
    scored = score_messages(pd.DataFrame({"text": texts}), embed_texts(texts))
    said = dict(zip(texts, scored["dissatisfied"]))
    # at least 6 of 7 on each side (the 0.85 floor of the corpora). Measured: every complaint counts, and of the
    # others only "Does the warranty cover accidental damage?" is called a complaint (P 0.96: in the product
    # reviews it trained on, warranty talk is complaint talk)
    missed, flagged = [t for t in COMPLAINTS if not said[t]], [t for t in NOT_COMPLAINTS if said[t]]
    print(f"complaints missed {missed}, others flagged {flagged}")
    assert len(missed) <= 1 and len(flagged) <= 1, (missed, flagged)
    rated = pd.DataFrame({"text": ["my card was charged twice"], "rating": [5]})
    assert not score_messages(rated, embed_texts(rated["text"].tolist()))["dissatisfied"].iloc[0]  # the rating wins
    assert DissatisfactionRule().threshold == load_model().threshold


def test_rebuilding_from_the_committed_data_gives_the_committed_model(embed_texts, held_out):
    spec = importlib.util.spec_from_file_location(
        "train_dissatisfaction", REPO / "scripts" / "train_dissatisfaction.py"
    )
    assert spec is not None and spec.loader is not None
    training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(training)
    rebuilt = training.train(embed_texts=embed_texts, log=print)
    committed = load_model()
    assert rebuilt.meta["data_digest"] == committed.meta["data_digest"]
    assert rebuilt.meta["recipe"] == committed.meta["recipe"]
    assert abs(rebuilt.threshold - committed.threshold) <= 0.02
    part, emb = held_out
    p_new, p_old = rebuilt.score_texts(part["text"].tolist(), emb), committed.score_texts(part["text"].tolist(), emb)
    assert float(np.abs(p_new - p_old).max()) < 0.02
    assert Path(committed.meta["data_files"][0]).name == "amazon_cells_labelled.txt"
    assert rebuilt.meta["shared_data"] == committed.meta["shared_data"]  # the same shared files
    assert "MIT License" in committed.meta["notices"]["product_complaints/LICENSE"]


# The probes were written apart from the training lines: none is a near paraphrase of one (all-MiniLM-L6-v2
# cosine; a paraphrase of a line sits at 0.75 or more, distinct sentences on one subject at 0.4-0.7). Two
# probes first written for this file failed it and were replaced: a courier's "delivered" to an empty doorstep
# (0.89 to a hand-written line) and adding a second user (0.73).
def test_no_probe_sits_close_to_a_training_line(embed_texts):
    spec = importlib.util.spec_from_file_location(
        "train_dissatisfaction", REPO / "scripts" / "train_dissatisfaction.py"
    )
    assert spec is not None and spec.loader is not None
    training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(training)
    lines = training.training_split()[0]["text"].tolist()
    closest = (embed_texts(COMPLAINTS + NOT_COMPLAINTS) @ embed_texts(lines).T).max(axis=1)
    print(dict(zip(COMPLAINTS + NOT_COMPLAINTS, closest.round(2))))
    assert float(closest.max()) < 0.7
