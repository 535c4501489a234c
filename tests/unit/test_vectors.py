"""Batched embedding: texts of similar length share a batch, rows come back in the caller's order."""

from itertools import pairwise

import numpy as np

from reasons.embedding.vectors import embed


class RecordingEmbedder:
    """A vector per text that names it (its index in ``corpus``), and the batches it was given."""

    def __init__(self, corpus: list[str]) -> None:
        self.index = {t: i for i, t in enumerate(corpus)}
        self.batches: list[list[str]] = []

    def encode(self, sentences: list[str], batch_size: int = 32, **kwargs) -> np.ndarray:
        self.batches.append(list(sentences))
        return np.array([[1.0, float(self.index[t])] for t in sentences])


def test_rows_keep_the_callers_order_and_batches_hold_texts_of_similar_length():
    rng = np.random.default_rng(0)
    texts = [f"t{i} " + "x" * int(n) for i, n in enumerate(rng.integers(0, 500, size=50))]
    model = RecordingEmbedder(texts)
    seen = []
    vectors = embed(model, texts, batch_size=8, progress=lambda done, total: seen.append((done, total)))
    # row i is text i's vector (normalised): the index it encodes is i
    names = np.rint(vectors[:, 1] / vectors[:, 0]).astype(int)
    assert names.tolist() == list(range(len(texts)))
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # longest first: every text of a batch is at least as long as every text of the next batch
    lengths = [[len(t) for t in batch] for batch in model.batches]
    assert all(min(a) >= max(b) for a, b in pairwise(lengths))
    assert [len(b) for b in model.batches] == [8] * 6 + [2]
    assert seen[-1] == (50, 50) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_no_text_no_vector():
    assert embed(RecordingEmbedder([]), []).shape == (0, 0)
