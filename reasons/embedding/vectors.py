"""Embedding vectors: the embedder protocol, batched unit-norm embedding. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """What the model needs from an embedding model (a ``SentenceTransformer`` is one)."""

    def encode(self, sentences: list[str], batch_size: int = ..., **kwargs) -> np.ndarray: ...


def embed(
    embedder: Embedder, texts: Sequence[str], batch_size: int = 128, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Unit-norm embeddings (float32, one row per text, in ``texts``' order), in batches of texts of
    similar length (longest first, as sentence-transformers orders one call): a batch is padded to its
    longest text, so batches of mixed lengths spend most of their work on padding (real complaints: the
    same vectors in about two thirds of the time: docs/history/results-journal.md, sections "How much the
    figures move" and "CI time"); ``progress(done, total)`` after each batch."""
    texts = list(texts)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        vectors = np.asarray(
            embedder.encode(
                [texts[i] for i in rows], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            ),
            dtype=np.float32,
        )
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
        if progress:
            progress(start + len(rows), len(texts))
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return normalize(out)


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def coherence(unit: np.ndarray) -> float:
    """The mean cosine of unit rows to their centre: the length of their mean (0.0 for no rows). A group of
    one topic sits close to its centre; a little of everything sits as far from it as the whole week."""
    return float(np.linalg.norm(np.asarray(unit, dtype=np.float64).mean(axis=0))) if len(unit) else 0.0
