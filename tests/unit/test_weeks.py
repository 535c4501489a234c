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
