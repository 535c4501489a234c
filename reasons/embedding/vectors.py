"""Embedding vectors: the embedder protocol, batched unit-norm embedding. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """What the model needs from an embedding model (a ``SentenceTransformer`` is one)."""

    def encode(self, sentences: list[str], batch_size: int = ..., **kwargs) -> np.ndarray: ...


#: Texts per batch. Small batches of long texts run faster on CPU than large ones (real complaints,
#: 256 tokens each: 32 per batch took 0.7x the time of 128; short queries: the same), bench/batching.py.
BATCH_SIZE = 32


def embed(
    embedder: Embedder,
    texts: Sequence[str],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Unit-norm embeddings (float32, one row per text, in ``texts``' order). Each distinct text is
    embedded once (a repeated text gets the same row), in batches of texts of similar length (longest
    first, as sentence-transformers orders one call): a batch is padded to its longest text, so batches
    of mixed lengths spend most of their work on padding (``bench/batching.py``); ``progress(done,
    total)`` after each batch, counting distinct texts."""
    texts = list(texts)
    slots: dict[str, int] = {}
    row_of = np.fromiter((slots.setdefault(t, len(slots)) for t in texts), dtype=np.int64, count=len(texts))
    distinct = list(slots)
    order = np.argsort([-len(t) for t in distinct], kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(distinct), batch_size):
        rows = order[start : start + batch_size]
        vectors = np.asarray(
            embedder.encode(
                [distinct[i] for i in rows], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            ),
            dtype=np.float32,
        )
        if out is None:
            out = np.zeros((len(distinct), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
        if progress:
            progress(start + len(rows), len(distinct))
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return normalize(out[row_of])


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)
