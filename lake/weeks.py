"""ISO weeks (``YYYY-Www``), the unit of the weekly fit and election."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(week: str) -> tuple[int, int]:
    m = _WEEK_RE.match(week)
    if not m:
        raise ValueError(f"week {week!r} is not ISO YYYY-Www (e.g. 2026-W46)")
    year, num = int(m.group(1)), int(m.group(2))
    date.fromisocalendar(year, num, 1)  # raises for W53 in a 52-week year
    return year, num


def week_start(week: str) -> datetime:
    """Monday 00:00 UTC of the week."""
    year, num = parse_week(week)
    return datetime.combine(date.fromisocalendar(year, num, 1), time(0), tzinfo=UTC)


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC."""
    start = week_start(week)
    return start, start + timedelta(days=7)


def week_of(ts: datetime | date) -> str:
    year, num, _ = ts.isocalendar()
    return f"{year}-W{num:02d}"


def weeks_of(timestamps: pd.Series) -> pd.Series:
    """:func:`week_of` of every timestamp of a column (a pandas ``Series``; naive ones read as UTC, aware ones
    converted to UTC), vectorised: a row-by-row ``week_of`` is slow on a week of messages."""
    import pandas as pd

    iso = pd.to_datetime(timestamps, utc=True).dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def last_complete_week(now: datetime) -> str:
    return week_of(now.astimezone(UTC) - timedelta(days=7))


def shift_week(week: str, weeks: int) -> str:
    return week_of(week_start(week) + timedelta(weeks=weeks))


def week_to_partition_key(week: str) -> str:
    """Dagster weekly partition key (the Monday's date) of an ISO week."""
    return week_start(week).date().isoformat()


def partition_key_to_week(key: str) -> str:
    return week_of(date.fromisoformat(key))


def closed_weeks(days: set[date]) -> list[str]:
    """The weeks holding one of ``days`` that the data has moved past: some day lies on or after the
    week's end (an event-time watermark: a stream carrying newer messages has delivered that week).
    Oldest first."""
    if not days:
        return []
    watermark = max(days)
    weeks = sorted({week_of(d) for d in days})
    return [w for w in weeks if week_bounds(w)[1].date() <= watermark]
