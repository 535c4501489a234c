from datetime import UTC, datetime

import pytest

from lake.weeks import (
    last_complete_week,
    parse_week,
    partition_key_to_week,
    shift_week,
    week_bounds,
    week_of,
    week_to_partition_key,
    weeks_of,
)


def test_iso_weeks():
    assert week_of(datetime(2026, 11, 22, tzinfo=UTC)) == "2026-W47"
    assert last_complete_week(datetime(2026, 11, 22, 23, tzinfo=UTC)) == "2026-W46"
    assert last_complete_week(datetime(2026, 11, 23, 0, 1, tzinfo=UTC)) == "2026-W47"
    start, end = week_bounds("2026-W01")
    assert start == datetime(2025, 12, 29, tzinfo=UTC) and (end - start).days == 7
    assert shift_week("2026-W01", -1) == "2025-W52"
    assert partition_key_to_week(week_to_partition_key("2026-W46")) == "2026-W46"
    for bad in ("2026-46", "2025-W53", "W46"):
        with pytest.raises(ValueError):
            parse_week(bad)


def test_a_column_of_timestamps_gets_the_week_of_each_in_utc():
    import pandas as pd

    aware = [
        "2025-12-28T23:30:00+00:00",  # a Sunday: the last day of 2025-W52
        "2025-12-29T00:00:00+00:00",  # the Monday: 2026-W01, in ISO year 2026 though still December
        "2026-01-04T23:00:00-02:00",  # Monday 01:00 UTC: 2026-W02, not the W01 of its own clock
    ]
    assert weeks_of(pd.Series(aware)).tolist() == ["2025-W52", "2026-W01", "2026-W02"]
    assert weeks_of(pd.Series(aware)).tolist() == [week_of(pd.Timestamp(s).tz_convert(UTC)) for s in aware]
    naive = pd.Series(["2020-12-31", "2021-01-04"])  # read as UTC; 2020 has a W53
    assert weeks_of(naive).tolist() == ["2020-W53", "2021-W01"]
