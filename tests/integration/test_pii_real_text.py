"""Redaction on real text: CFPB's narratives (the bureau already replaced personal data by XXXX) and
Banking77's queries hold no personal data, so whatever is found there is a false positive."""

from __future__ import annotations

import pandas as pd
import pytest

from reasons.pii import find_pii
from tests.support.paths import BANKING77_TEST, CFPB, require_shared


@pytest.mark.parametrize(("path", "column"), [(CFPB, "narrative"), (BANKING77_TEST, "text")])
def test_real_messages_without_personal_data_stay_as_they_are(path, column) -> None:
    require_shared(path)
    texts = pd.read_csv(path)[column].dropna().astype(str).tolist()
    found = [(t, [t[s.start : s.end] for s in find_pii(t)]) for t in texts]
    flagged = [(t[:80], spans) for t, spans in found if spans]
    assert len(texts) > 3000
    assert len(flagged) <= 0.002 * len(texts), flagged[:10]
