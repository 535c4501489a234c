"""ml.embeddings: each message is embedded once per embedding model and text; refits reuse the stored vectors."""

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyiceberg.expressions import AlwaysTrue, EqualTo

from lake import catalog as lake_catalog
from lake.schemas import ML_EMBEDDINGS
from lake.settings import Settings
from reasons.embedding.store import embed_with_store, text_sha256
from reasons.weekly.topic_fit import fit_week

MODEL = "fake-embedder-v1"
DIM = 16
MONDAY = datetime(2026, 11, 9, 8, tzinfo=UTC)  # 2026-W46
WEEK = "2026-W46"


def _vector(seed_text: str, scale: float = 1.0) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).normal(size=DIM) * scale


class FakeEmbedder:
    """Deterministic: texts sharing their first word lie close together (one cluster per first word)."""

    def encode(self, sentences, batch_size=32, **kwargs):
        rows = [_vector(s.split()[0]) + _vector(s, 0.05) for s in sentences]
        rows = np.asarray(rows, dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class Counting:
    def __init__(self, inner):
        self.inner, self.texts, self.calls = inner, 0, 0

    def encode(self, sentences, batch_size=32, **kwargs):
        self.calls += 1
        self.texts += len(sentences)
        return self.inner.encode(sentences, batch_size=batch_size, **kwargs)


def messages(n, start=0, created=MONDAY):
    return pd.DataFrame(
        {
            "source": ["crm" if i % 2 else "app" for i in range(start, start + n)],
            "message_id": [f"m{i}" for i in range(start, start + n)],
            "text": [f"word{i % 3} message number {i}" for i in range(start, start + n)],
            "created_at": [created + timedelta(hours=i) for i in range(n)],
        }
    )


def stored_rows(settings, model=None):
    catalog = lake_catalog.load(settings)
    table = lake_catalog.read(
        catalog, ML_EMBEDDINGS.identifier, row_filter=EqualTo("embedding_model", model) if model else AlwaysTrue()
    )
    return table.to_pandas()


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path)


def test_first_call_embeds_all_and_second_reuses_all(settings):
    frame = messages(20)
    embedder = Counting(FakeEmbedder())
    logs = []
    first = embed_with_store(settings, frame, embedder, MODEL, batch_size=8, log=logs.append)
    assert (first.computed, first.reused, embedder.texts) == (20, 0, 20)
    assert first.embeddings.shape == (20, DIM) and first.embeddings.dtype == np.float32
    assert np.allclose(first.embeddings, FakeEmbedder().encode(frame["text"].tolist()), atol=1e-6)
    assert "20 computed" in logs[-1]

    second = embed_with_store(settings, frame, embedder, MODEL, log=logs.append)
    assert (second.computed, second.reused, embedder.texts) == (0, 20, 20)
    assert np.array_equal(second.embeddings, first.embeddings)
    assert "20 reused" in logs[-1] and "0 computed" in logs[-1]

    rows = stored_rows(settings)
    assert len(rows) == 20 and set(rows["week"]) == {WEEK}
    assert rows["text_sha256"].tolist() == [text_sha256(t) for t in frame["text"]]


def test_rows_come_back_in_input_order(settings):
    frame = messages(12)
    first = embed_with_store(settings, frame, FakeEmbedder(), MODEL)
    order = np.random.default_rng(0).permutation(12)
    again = embed_with_store(settings, frame.iloc[order], Counting(FakeEmbedder()), MODEL)
    assert again.reused == 12 and np.array_equal(again.embeddings, first.embeddings[order])


def test_changed_text_is_embedded_again(settings):
    frame = messages(10)
    embed_with_store(settings, frame, FakeEmbedder(), MODEL)
    edited = frame.copy()
    edited.loc[3, "text"] = "word2 an edited text"
    embedder = Counting(FakeEmbedder())
    out = embed_with_store(settings, edited, embedder, MODEL)
    assert (out.computed, out.reused, embedder.texts) == (1, 9, 1)
    assert np.allclose(out.embeddings[3], FakeEmbedder().encode(["word2 an edited text"])[0], atol=1e-6)
    assert len(stored_rows(settings)) == 11  # the old text's row stays; its key differs


def test_only_new_messages_are_embedded(settings):
    embed_with_store(settings, messages(10), FakeEmbedder(), MODEL)
    more = pd.concat([messages(10), messages(5, start=10, created=MONDAY + timedelta(days=7))], ignore_index=True)
    embedder = Counting(FakeEmbedder())
    out = embed_with_store(settings, more, embedder, MODEL)
    assert (out.computed, out.reused, embedder.texts) == (5, 10, 5)
    rows = stored_rows(settings)
    assert len(rows) == 15 and rows.groupby("week").size().to_dict() == {WEEK: 10, "2026-W47": 5}


def test_repeated_calls_leave_no_duplicates(settings):
    frame = messages(15)
    for _ in range(3):
        embed_with_store(settings, frame, FakeEmbedder(), MODEL)
        embed_with_store(settings, frame.iloc[:7], FakeEmbedder(), MODEL)
    rows = stored_rows(settings)
    assert len(rows) == 15
    assert not rows.duplicated(["source", "message_id", "embedding_model", "text_sha256"]).any()


def test_another_embedding_model_does_not_reuse(settings):
    frame = messages(10)
    embed_with_store(settings, frame, FakeEmbedder(), MODEL)
    embedder = Counting(FakeEmbedder())
    out = embed_with_store(settings, frame, embedder, "fake-embedder-v2")
    assert (out.computed, out.reused, embedder.texts) == (10, 0, 10)
    assert len(stored_rows(settings, MODEL)) == 10 and len(stored_rows(settings, "fake-embedder-v2")) == 10


def test_no_messages_touch_nothing(settings):
    out = embed_with_store(settings, messages(0), Counting(FakeEmbedder()), MODEL)
    assert out.embeddings.shape[0] == 0 and (out.computed, out.reused) == (0, 0)


@pytest.mark.slow  # a real BERTopic fit (UMAP's JIT compile alone takes ~20 s)
def test_refit_of_a_week_embeds_nothing(settings):
    frame = messages(60)
    frame["rating"] = pd.array([1 + i % 5 for i in range(60)], dtype="Int64")
    embedder = Counting(FakeEmbedder())
    first = fit_week(frame, WEEK, embedder, settings, embedding_model=MODEL)
    assert (first.embeddings_computed, first.embeddings_reused, embedder.texts) == (60, 0, 60)
    calls = embedder.calls

    again = fit_week(frame, WEEK, embedder, settings, embedding_model=MODEL)
    assert embedder.calls == calls and (again.embeddings_computed, again.embeddings_reused) == (0, 60)
    assert again.model_version == first.model_version
    assert np.array_equal(again.fit.doc_topics, first.fit.doc_topics)
    assert np.array_equal(
        np.load(again.artifact_path / "embeddings.npy"), np.load(first.artifact_path / "embeddings.npy")
    )
