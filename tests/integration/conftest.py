"""Fixtures shared by the integration tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from reasons.corpora import cfpb_frame
from reasons.embedding.backends import load_embedder
from reasons.embedding.vectors import embed
from tests.support.paths import CFPB


@pytest.fixture(scope="session")
def cfpb(tmp_path_factory, worker_id) -> tuple[pd.DataFrame, np.ndarray]:
    """The CFPB complaints (``reasons.corpora.cfpb_frame``) and their narratives' fp32 embeddings, row for
    row: embedding the 4,393 narratives takes about seven minutes of a core here, so it is done once per
    test run for every test that reads them. Under ``pytest -n`` (``make test``) the first worker that needs
    them embeds and saves them in the run's temp dir; another worker waits for that file."""
    if not CFPB.exists():
        pytest.skip(f"{CFPB} is missing (shared data beside the checkout)")
    frame = cfpb_frame(CFPB)
    assert len(frame) == 4393 and frame["week"].nunique() == 5
    if worker_id == "master":  # not under pytest-xdist
        return frame, embed(load_embedder(), frame["text"].tolist())
    saved = tmp_path_factory.getbasetemp().parent / "cfpb-embeddings.npy"  # the run's, shared by its workers
    with FileLock(f"{saved}.lock"):
        if not saved.exists():
            np.save(saved, embed(load_embedder(), frame["text"].tolist()))
        return frame, np.load(saved)
