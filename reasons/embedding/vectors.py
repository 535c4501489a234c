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
    """Unit-norm embeddings (float32, one row per text), in batches; ``progress(done, total)`` after each."""
    texts = list(texts)
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        parts.append(
            np.asarray(
                embedder.encode(batch, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False),
                dtype=np.float32,
            )
        )
        if progress:
            progress(start + len(batch), len(texts))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return normalize(np.vstack(parts))


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)
