"""Feast's online store on a real Redis (Debian's redis-server, installed and started by the project):
the election published there reads back exactly as from the default SQLite store, through the lookup
the alert job and the classify API use, and survives a Redis restart."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from lake.settings import Settings
from services.redis import start as start_redis
from services.redis import stop as stop_redis
from tests.support.elections import election
from tests.support.os_packages import install_or_skip

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

IDS = ["2026-W46-bbbb2222/0", "2026-W46-bbbb2222/1", "2026-W46-bbbb2222/2", "2026-W45-aaaa1111/0", "nope/1"]


@pytest.fixture
def redis(tmp_path):
    home = Settings(home=tmp_path / "redis-home")
    install_or_skip("redis-server")  # only the Debian package's absence skips; a start that fails, fails
    server = start_redis(home)
    yield home, server
    stop_redis(home)


def test_an_election_on_redis_reads_back_as_on_sqlite_and_survives_a_restart(tmp_path, redis) -> None:
    from feature_repo.online import ReasonLookup
    from feature_repo.publish import publish_reasons

    engine_home, server = redis
    assert start_redis(engine_home) == server  # idempotent: the running one
    history = pd.concat(
        [
            election("2026-W45", "2026-W45-aaaa1111", datetime(2026, 11, 9, 3, tzinfo=UTC)),
            election("2026-W46", "2026-W46-bbbb2222", datetime(2026, 11, 16, 3, tzinfo=UTC)),
        ],
        ignore_index=True,
    )
    on_sqlite = Settings(home=tmp_path / "sqlite")
    on_redis = Settings(home=tmp_path / "redis", online_store=server.url)
    for settings in (on_sqlite, on_redis):
        publish_reasons(settings, history, "2026-W46", valid_weeks=2)
    expected = ReasonLookup(on_sqlite).get(IDS)
    assert expected["2026-W46-bbbb2222/0"]["elected"] is True and expected["nope/1"] is None
    assert ReasonLookup(on_redis).get(IDS) == expected
    assert not (on_redis.feast_dir / "online.db").exists()  # nothing went to SQLite

    assert stop_redis(engine_home)
    restarted = start_redis(engine_home)
    assert restarted.port == server.port  # the same address: the configured URL still holds
    assert ReasonLookup(on_redis).get(IDS) == expected  # Redis saved the election on its way down
