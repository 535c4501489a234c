"""Message embeddings computed once and stored in the Iceberg table ``ml.embeddings`` (through
:mod:`lake.catalog`).

I/O on ``ml.embeddings`` only: :func:`stored_keys`, :func:`unstored` and :func:`read_stored` read it,
:func:`append_embeddings` appends to it, :func:`embed_with_store` does both around the embedder.
:func:`text_sha256` and :func:`message_keys` compute only.

A row of ``ml.embeddings`` is keyed by ``(source, message_id, embedding_model, text_sha256)``: a
refit or a backfill of a week reuses what was already embedded with the same model, a message
whose text changed is embedded again, and another embedding model never reuses these vectors.
The table is partitioned by ``week`` (ISO week of ``created_at``) and ``embedding_model``, so the
lookup of a week's messages reads one partition. Any writer (the weekly fit, the PyFlink batch
embedding job ``flink/embed_job.py``, all through :func:`append_embeddings`) appends only keys that
are not stored yet; a reader takes the first row of a key should two concurrent writers both have
appended it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from pyiceberg.expressions import And, EqualTo, In

from lake import catalog as lake_catalog
from lake.schemas import ML_EMBEDDINGS
from lake.settings import Settings
from lake.weeks import weeks_of
from reasons.embedding.backends import EMBEDDING_MODEL
from reasons.embedding.vectors import Embedder, embed

KEY = ("source", "message_id", "text_sha256")  # within one embedding_model


@dataclass(frozen=True)
class StoredEmbeddings:
    """Embeddings aligned with the input rows, and where they came from."""

    embeddings: np.ndarray  # float32, one unit-norm row per input message
    reused: int  # input rows served from ml.embeddings
    computed: int  # texts embedded by this call (and appended to ml.embeddings)


def text_sha256(text: str) -> str:
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()


def message_keys(messages: pd.DataFrame) -> pd.DataFrame:
    """``week``, ``source``, ``message_id``, ``text_sha256`` and ``text`` of each message (input order)."""
    texts = messages["text"].astype(str)
    return pd.DataFrame(
        {
            "week": weeks_of(messages["created_at"]),
            "source": messages["source"].astype(str),
            "message_id": messages["message_id"].astype(str),
            "text_sha256": texts.map(text_sha256),
            "text": texts,
        }
    ).reset_index(drop=True)


def _matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A list<float> column of equal-length rows as an (n, d) float32 matrix."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(column)
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if len(values) % n:
        raise ValueError(f"{ML_EMBEDDINGS.identifier}: embeddings of unequal lengths")
    return values.reshape(n, len(values) // n)


def stored_keys(
    settings: Settings, weeks: list[str], embedding_model: str, message_ids: list[str] | None = None
) -> pd.DataFrame:
    """Keys (``source``, ``message_id``, ``text_sha256``) stored for ``weeks`` and ``embedding_model``, one row
    per key, without reading the vectors; ``message_ids`` restricts the scan to those ids."""
    row_filter = And(EqualTo("embedding_model", embedding_model), In("week", weeks))
    if message_ids is not None:
        row_filter = And(row_filter, In("message_id", sorted(set(message_ids))))
    keys = lake_catalog.read(
        lake_catalog.load(settings), ML_EMBEDDINGS.identifier, row_filter=row_filter, selected_fields=KEY
    ).to_pandas()
    return keys.drop_duplicates(list(KEY)).reset_index(drop=True)


def unstored(settings: Settings, keys: pd.DataFrame, embedding_model: str) -> pd.DataFrame:
    """The rows of ``keys`` (:func:`message_keys`) with no stored embedding for ``embedding_model``, one per key.

    Reads only the keys of the rows' weeks and message ids (no vectors): cheap enough to run before every
    append of a batch job, which makes a re-run of the same input append nothing twice.
    """
    if len(keys) == 0:
        return keys.copy()
    stored = stored_keys(settings, sorted(set(keys["week"])), embedding_model, keys["message_id"].tolist())
    merged = keys.merge(stored.assign(_stored=True), on=list(KEY), how="left")
    return keys[merged["_stored"].isna().to_numpy()].drop_duplicates(list(KEY)).reset_index(drop=True)


def read_stored(settings: Settings, weeks: list[str], embedding_model: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Stored keys of ``weeks`` and ``embedding_model`` (one row per key) and their embeddings, aligned."""
    table = lake_catalog.read(
        lake_catalog.load(settings),
        ML_EMBEDDINGS.identifier,
        row_filter=And(EqualTo("embedding_model", embedding_model), In("week", weeks)),
        selected_fields=(*KEY, "embedding"),
    )
    keys = table.select(list(KEY)).to_pandas()
    first = ~keys.duplicated(list(KEY)).to_numpy()
    return keys[first].reset_index(drop=True), _matrix(table.column("embedding").filter(pa.array(first)))


def append_embeddings(
    settings: Settings, rows: pd.DataFrame, vectors: np.ndarray, embedding_model: str, now: datetime | None = None
) -> None:
    """Append ``vectors`` (one row per row of ``rows``, columns of :func:`message_keys`) to ``ml.embeddings``
    as made by ``embedding_model`` (one atomic commit, retried on concurrent commits)."""
    if len(rows) != len(vectors):
        raise ValueError(f"{len(vectors)} embeddings for {len(rows)} messages")
    if len(rows) == 0:
        return
    table = lake_catalog.ensure_table(lake_catalog.load(settings), ML_EMBEDDINGS.identifier)
    lake_catalog.append(table, _embeddings_table(rows, vectors, embedding_model, now or datetime.now(UTC)))


def _embeddings_table(rows: pd.DataFrame, vectors: np.ndarray, embedding_model: str, now: datetime) -> pa.Table:
    schema = ML_EMBEDDINGS.arrow_schema
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), type=pa.float32())
    embedding = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]).cast(schema.field("embedding").type)
    n = len(rows)
    return pa.Table.from_arrays(
        [
            pa.array(rows["week"], type=schema.field("week").type),
            pa.array(rows["source"], type=schema.field("source").type),
            pa.array(rows["message_id"], type=schema.field("message_id").type),
            pa.array([embedding_model] * n, type=schema.field("embedding_model").type),
            pa.array(rows["text_sha256"], type=schema.field("text_sha256").type),
            embedding,
            pa.array([now] * n, type=schema.field("embedded_at").type),
        ],
        schema=schema,
    )


def embed_with_store(
    settings: Settings,
    messages: pd.DataFrame,
    embedder: Embedder,
    embedding_model: str = EMBEDDING_MODEL,
    batch_size: int = 128,
    log: Callable[[str], None] = lambda _: None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> StoredEmbeddings:
    """Embeddings of ``messages`` (columns ``source``, ``message_id``, ``text``, ``created_at``), in row order.

    Reads the stored embeddings of the messages' weeks made by ``embedding_model``, embeds (with
    :func:`~reasons.embedding.vectors.embed`) only the messages missing there or whose text
    changed, and appends those to ``ml.embeddings``. ``embedding_model`` must name the model
    ``embedder`` runs: it is the only thing that tells stored vectors of different models apart.
    """
    if len(messages) == 0:
        return StoredEmbeddings(np.zeros((0, 0), dtype=np.float32), 0, 0)
    keys = message_keys(messages)
    stored_keys, stored = read_stored(settings, sorted(set(keys["week"])), embedding_model)
    position = keys.merge(stored_keys.assign(_pos=np.arange(len(stored_keys))), on=list(KEY), how="left")["_pos"]
    hit = position.notna().to_numpy()

    todo = keys[~hit].drop_duplicates(list(KEY)).reset_index(drop=True)
    fresh = embed(embedder, todo["text"].tolist(), batch_size=batch_size, progress=progress) if len(todo) else None
    dim = fresh.shape[1] if fresh is not None else stored.shape[1]
    if fresh is not None and hit.any() and stored.shape[1] != dim:
        raise ValueError(
            f"{embedding_model}: stored embeddings have {stored.shape[1]} dimensions, "
            f"the embedder gives {dim}: is embedding_model the embedder's name?"
        )

    out = np.empty((len(keys), dim), dtype=np.float32)
    if hit.any():
        out[hit] = stored[position[hit].astype(int).to_numpy()]
    if fresh is not None:
        fresh_at = keys[~hit].merge(todo[list(KEY)].assign(_pos=np.arange(len(todo))), on=list(KEY), how="left")
        out[~hit] = fresh[fresh_at["_pos"].to_numpy()]
        append_embeddings(settings, todo, fresh, embedding_model, now)
    reused = int(hit.sum())
    log(f"embeddings ({embedding_model}): {reused} reused from {ML_EMBEDDINGS.identifier}, {len(todo)} computed")
    return StoredEmbeddings(out, reused, len(todo))
