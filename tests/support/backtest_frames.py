"""Hand-built weeks as a weekly run stores them (ml.elections, ml.message_topics, ml.topics rows) for the
backtest's tests (tests/unit/test_backtest.py, tests/integration/test_backtest_command.py)."""

import pandas as pd

from reasons.election.backtest import WeekInputs

W1, W2 = "2026-W46", "2026-W47"


def election(rows: list[tuple[str, int, bool]]) -> pd.DataFrame:
    """``ml.elections`` rows (reason_id, rank, elected), labelled after their reason."""
    return pd.DataFrame(
        {
            "reason_id": [r for r, _, _ in rows],
            "label": [f"label {r}" for r, _, _ in rows],
            "rank": [k for _, k, _ in rows],
            "elected": [e for _, _, e in rows],
            "model_version": "m1",
        }
    )


def assignments(counts: dict[tuple[int, str], int], satisfied: int = 4, week: str = W1) -> pd.DataFrame:
    """``ml.message_topics`` rows: ``counts[(topic, reason)]`` dissatisfied messages each, and ``satisfied``
    happy ones in topic 0."""
    rows = [
        (t, r, True, src)
        for (t, r), n in counts.items()
        for i in range(n)
        for src in ["crm" if i % 2 else "review_portal"]
    ]
    rows += [(0, "r0", False, "crm")] * satisfied
    frame = pd.DataFrame(rows, columns=["topic_id", "reason_id", "dissatisfied", "source"])
    frame["message_id"] = [f"{week}-{i}" for i in range(len(frame))]
    frame["model_version"] = f"model-{week}"
    return frame


TOPICS = {0: "r0", 1: "r1", 2: "r2", 3: "r3", -1: "outliers"}
COUNTS = {(0, "r0"): 20, (1, "r1"): 12, (2, "r2"): 8, (3, "r3"): 3, (-1, "outliers"): 6}


def inputs(week: str = W1, following: pd.DataFrame | None = None, recorded: pd.DataFrame | None = None) -> WeekInputs:
    topics = pd.DataFrame(
        {
            "topic_id": list(TOPICS),
            "reason_id": list(TOPICS.values()),
            "label": [f"label {r}" for r in TOPICS.values()],
            "model_version": f"model-{week}",
        }
    )
    return WeekInputs(
        week=week,
        message_topics=assignments(COUNTS, week=week),
        topics=topics,
        previous=pd.DataFrame({"reason_id": ["r0"], "message_count": [10]}),
        born_weeks={r: week for r in TOPICS.values()},
        stored=None,
        following=following,
        recorded=recorded,
    )
