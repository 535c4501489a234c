"""Fixtures shared by the integration tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from reasons.corpora import cfpb_frame, product_frame
from reasons.embedding.backends import load_embedder
from reasons.embedding.vectors import embed
from tests.support.paths import CFPB, PRODUCTS, require_shared


def _embedded_once(tmp_path_factory, worker_id, name: str, texts: list[str]) -> np.ndarray:
    """``texts``' fp32 embeddings, computed once per test run: under ``pytest -n`` (``make test``) the first
    worker that needs them embeds and saves them in the run's temp dir; another worker waits for that file."""
    if worker_id == "master":  # not under pytest-xdist
        return embed(load_embedder(), texts)
    saved = tmp_path_factory.getbasetemp().parent / f"{name}-embeddings.npy"  # the run's, shared by its workers
    with FileLock(f"{saved}.lock"):
        if not saved.exists():
            np.save(saved, embed(load_embedder(), texts))
        return np.load(saved)


@pytest.fixture(scope="session")
def held_out_products(tmp_path_factory, worker_id) -> tuple[pd.DataFrame, np.ndarray]:
    """The held-out part of the product reviews (``reasons.corpora.product_frame``, from 2020-W49 on: 1,148
    reviews) and their texts' fp32 embeddings, row for row (about half a minute of a core), once per test run."""
    require_shared(PRODUCTS)
    frame = product_frame(PRODUCTS)
    assert len(frame) == 3876
    held = frame[frame["held_out"]].reset_index(drop=True)
    assert len(held) == 1148
    return held, _embedded_once(tmp_path_factory, worker_id, "products", held["text"].tolist())


@pytest.fixture(scope="session")
def cfpb(tmp_path_factory, worker_id) -> tuple[pd.DataFrame, np.ndarray]:
    """The CFPB complaints (``reasons.corpora.cfpb_frame``) and their narratives' fp32 embeddings, row for
    row: embedding the 4,393 narratives takes about seven minutes of a core here, so it is done once per
    test run for every test that reads them. Under ``pytest -n`` (``make test``) the first worker that needs
    them embeds and saves them in the run's temp dir; another worker waits for that file."""
    require_shared(CFPB)
    frame = cfpb_frame(CFPB)
    assert len(frame) == 4393 and frame["week"].nunique() == 5
    return frame, _embedded_once(tmp_path_factory, worker_id, "cfpb", frame["text"].tolist())
