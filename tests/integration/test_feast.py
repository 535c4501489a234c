import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from lake.settings import Settings
from reasons.election.elect import elect
from reasons.election.policy import ElectionPolicy
from tests.support.paths import FEATURE_REPO

REPO = FEATURE_REPO


def _election(week: str, version: str, at: datetime) -> pd.DataFrame:
    topics = pd.DataFrame({"topic_id": [0] * 12 + [1] * 7 + [2] * 2 + [-1] * 3, "dissatisfied": True})
    return elect(
        topics,
        {0: "card declined payment", 1: "refund waiting weeks", 2: "app crashes update"},
        ElectionPolicy(),
        week,
        version,
        elected_at=at,
    )


def test_repo_config_follows_settings(tmp_path):
    from feast.infra.online_stores.redis import RedisOnlineStoreConfig
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

    from feature_repo.config import reasons_parquet, repo_config

    settings = Settings(home=tmp_path)
    config = repo_config(settings)
    assert isinstance(config.online_store, SqliteOnlineStoreConfig)
    assert config.online_store.path == str(tmp_path / "feast" / "online.db")
    assert config.repo_path == tmp_path / "feast"
    assert reasons_parquet(settings) == tmp_path / "feast" / "data" / "reasons.parquet"
    redis = repo_config(Settings(home=tmp_path, online_store="redis://cache.internal:6380/2")).online_store
    assert isinstance(redis, RedisOnlineStoreConfig) and redis.connection_string == "cache.internal:6380,db=2"
    with pytest.raises(ValueError):
        repo_config(Settings(home=tmp_path, online_store="bigtable"))


@pytest.mark.slow
def test_publish_then_lookup_online(tmp_path):
    from feature_repo.online import ReasonLookup
    from feature_repo.publish import publish_reasons

    settings = Settings(home=tmp_path)
    w45 = _election("2026-W45", "2026-W45-aaaa1111", datetime(2026, 11, 9, 3, tzinfo=UTC))
    w46 = _election("2026-W46", "2026-W46-bbbb2222", datetime(2026, 11, 16, 3, tzinfo=UTC))
    history = pd.concat([w45, w46], ignore_index=True)
    publish_reasons(settings, history, "2026-W46")

    ticks = iter(range(1000))
    lookup = ReasonLookup(settings, ttl_s=5.0, clock=lambda: float(next(ticks)))
    got = lookup.get(["2026-W46-bbbb2222/0", "2026-W46-bbbb2222/2", "2026-W45-aaaa1111/0", "nope/1"])
    assert got["2026-W46-bbbb2222/0"] == {
        "label": "card declined payment",
        "rank": 1,
        "share": pytest.approx(0.5),
        "elected": True,
        "week": "2026-W46",
        "model_version": "2026-W46-bbbb2222",
    }
    assert got["2026-W46-bbbb2222/2"]["elected"] is False and got["2026-W46-bbbb2222/2"]["rank"] == 3
    assert got["2026-W45-aaaa1111/0"] is None  # only the published week was materialized online
    assert got["nope/1"] is None

    publish_reasons(settings, history, "2026-W45")  # a second week joins; the cache hides it for ttl_s
    assert lookup.get(["2026-W45-aaaa1111/0"])["2026-W45-aaaa1111/0"] is None
    for _ in range(5):
        next(ticks)
    assert lookup.get(["2026-W45-aaaa1111/0"])["2026-W45-aaaa1111/0"]["label"] == "card declined payment"
    fresh = ReasonLookup(settings)
    assert fresh.get(["2026-W46-bbbb2222/1"])["2026-W46-bbbb2222/1"]["elected"] is True
    assert fresh.get([]) == {}


@pytest.mark.slow
def test_feast_cli_apply_in_the_repo_folder(tmp_path):
    """`feast apply` run by hand in feature_repo/ imports only features.py (see .feastignore)."""
    repo = tmp_path / "feature_repo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns("data", "__pycache__"))
    feast = Path(sys.executable).with_name("feast")
    done = subprocess.run([str(feast), "apply"], cwd=repo, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run(
        [str(feast), "feature-views", "list"], cwd=repo, capture_output=True, text=True, timeout=180
    )
    assert "reasons" in listed.stdout
