"""Shared fixtures: an isolated home per test, and a real embedded broker in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lake.settings import Settings
from services import broker as broker_mod
from services.broker import BrokerInfo


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings of a fresh home under the test's temp dir (SQLite catalog, local warehouse)."""
    s = Settings(home=tmp_path / "home")
    s.ensure_dirs()
    return s


@pytest.fixture
def broker(settings: Settings) -> Iterator[BrokerInfo]:
    """A running embedded Tansu broker for ``settings``, stopped at teardown."""
    info = broker_mod.start(settings)
    try:
        yield info
    finally:
        broker_mod.stop(settings)
