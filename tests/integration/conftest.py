"""Fixtures shared by the integration tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reasons.corpora import cfpb_frame
from reasons.embedding.backends import load_embedder
from reasons.embedding.vectors import embed
from tests.support.paths import CFPB


@pytest.fixture(scope="session")
def cfpb() -> tuple[pd.DataFrame, np.ndarray]:
    """The CFPB complaints (``reasons.corpora.cfpb_frame``) and their narratives' fp32 embeddings, row for
    row: embedding the 4,393 narratives takes about ten minutes here, so it is done once per session for
    every test that reads them."""
    if not CFPB.exists():
        pytest.skip(f"{CFPB} is missing (shared data beside the checkout)")
    frame = cfpb_frame(CFPB)
    assert len(frame) == 4393 and frame["week"].nunique() == 5
    return frame, embed(load_embedder(), frame["text"].tolist())
