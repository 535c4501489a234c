"""Week-partitioned writes of the contract tables (``reasons.weekly.tables.write_week`` over
``lake.catalog.replace_week``) on a real pyiceberg catalog."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pandas as pd

from lake import catalog as lake_catalog
from reasons.weekly.tables import write_week

AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def topics(week: str, version: str, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "week": week,
            "model_version": version,
            "topic_id": range(n),
            "reason_id": [f"R{i:04d}" for i in range(n)],
            "label": [f"label {i}" for i in range(n)],
            "keywords": [["a", "b"]] * n,
            "size": 10,
            "fitted_at": AT,
        }
    )


def test_a_week_is_written_then_replaced_and_its_first_write_warns_of_nothing(settings) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first write's overwrite deletes nothing: no warning reaches the user
        assert write_week(settings, "ml.topics", topics("2026-W48", "v1", 3), "2026-W48") == 3
    write_week(settings, "ml.topics", topics("2026-W49", "v1", 2), "2026-W49")
    write_week(settings, "ml.topics", topics("2026-W48", "v2", 4), "2026-W48")  # a refit replaces its week

    rows = lake_catalog.read(lake_catalog.load(settings), "ml.topics").to_pandas()
    by_week = rows.groupby("week")["model_version"].agg(lambda v: (len(v), set(v))).to_dict()
    assert by_week == {"2026-W48": (4, {"v2"}), "2026-W49": (2, {"v1"})}
