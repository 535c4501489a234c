"""Publish election rows to Feast: export the parquet of the file source, apply, materialize."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from feast import FeatureStore

from feature_repo.config import apply, feature_store, reasons_parquet
from feature_repo.online import mark_published
from lake.settings import Settings
from lake.weeks import week_bounds

EXPORT_COLUMNS = [
    "reason_id",
    "label",
    "rank",
    "share",
    "elected",
    "week",
    "model_version",
    "topic_id",
    "message_count",
    "elected_at",
]
DEFAULT_VALID_WEEKS = 2


def valid_until(week: str, valid_weeks: int = DEFAULT_VALID_WEEKS):
    """When a week's election goes stale: ``valid_weeks`` weeks after the week ended (the next
    week's election normally replaces it a week after the week ended; one more is the grace)."""
    return week_bounds(week)[1] + timedelta(weeks=valid_weeks)


def export_reasons(settings: Settings, elections: pd.DataFrame, valid_weeks: int = DEFAULT_VALID_WEEKS) -> None:
    """Write ``elections`` (rows of ml.elections, every week wanted offline) as the source parquet, atomically,
    each row with the ``valid_until`` of its week."""
    path = reasons_parquet(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = elections[EXPORT_COLUMNS].astype(
        {"rank": "int64", "topic_id": "int64", "message_count": "int64", "share": "float64", "elected": "bool"}
    )
    frame = frame.assign(
        elected_at=pd.to_datetime(frame["elected_at"], utc=True),
        valid_until=pd.to_datetime([valid_until(w, valid_weeks) for w in frame["week"]], utc=True),
    )
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def publish_reasons(
    settings: Settings, history: pd.DataFrame, week: str, valid_weeks: int = DEFAULT_VALID_WEEKS
) -> FeatureStore:
    """Export ``history`` (all of ml.elections), apply the repo and materialize ``week``'s rows online."""
    rows = history[history["week"] == week]
    if rows.empty:
        raise ValueError(f"no election rows for {week} to publish")
    export_reasons(settings, history, valid_weeks)
    store = feature_store(settings)
    apply(store)
    stamps = pd.to_datetime(rows["elected_at"], utc=True)
    store.materialize(
        start_date=stamps.min().to_pydatetime() - timedelta(seconds=1),
        end_date=stamps.max().to_pydatetime() + timedelta(seconds=1),
        feature_views=["reasons"],
    )
    mark_published(settings)  # readers' caches (feature_repo/online.py) read the store again
    return store
