"""A small election frame as ``ml.elections`` holds it (three reasons and the outliers), for the Feast tests."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from reasons.election.elect import elect
from reasons.election.policy import ElectionPolicy


def election(week: str, version: str, at: datetime) -> pd.DataFrame:
    topics = pd.DataFrame({"topic_id": [0] * 12 + [1] * 7 + [2] * 2 + [-1] * 3, "dissatisfied": True})
    return elect(
        topics,
        {0: "card declined payment", 1: "refund waiting weeks", 2: "app crashes update"},
        ElectionPolicy(),
        week,
        version,
        elected_at=at,
    )
