"""Two writers committing to the same Iceberg table at once: conflicts are retried, nothing is lost,
each partition's offset ends at its maximum and never moves back. On the default SQLite catalog and on
a real PostgreSQL SQL catalog (Debian's postgresql, started by ``services.postgres``; marker scaleout)."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from flink.jobconfig import BatchPolicy
from flink.sink import IcebergBatchSink
from lake import catalog as lake_catalog
from tests.integration.test_sink import batch

COMMITS = 8
PER_COMMIT = 25
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres():
    from lake.settings import Settings
    from services import postgres as engine
    from tests.support.os_packages import install_or_skip

    folder = Path(tempfile.mkdtemp(prefix="reasonlake-pg-", dir="/tmp"))  # reachable by the postgres user
    os.chmod(folder, 0o755)
    engines = Settings(home=folder)
    install_or_skip("initdb", engine.find_initdb)  # only the package's absence skips; a failed start fails
    server = engine.start(engines)
    yield server
    engine.stop(engines)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.scaleout, pytest.mark.slow])])
def catalog_settings(request, settings):
    """The test's home on the default SQLite catalog, or on a fresh database of the PostgreSQL server."""
    if request.param == "sqlite":
        return settings
    from services.postgres import create_database

    server = request.getfixturevalue("postgres")
    name = f"catalog_{os.getpid()}_{next(_databases)}"
    create_database(server, name)
    on_postgres = settings.replace(catalog_uri=server.url(name))
    assert on_postgres.catalog_properties()["uri"].startswith("postgresql+psycopg://")
    return on_postgres


def test_two_sinks_commit_concurrently_without_losing_rows(catalog_settings) -> None:
    settings = catalog_settings
    errors: list[BaseException] = []
    barrier = threading.Barrier(2, timeout=60)
    for identifier in ("raw.feedback", "raw.feedback_rejected"):  # creation is not what this test is about
        lake_catalog.ensure_table(lake_catalog.load(settings), identifier)

    def writer(partition: int) -> None:
        try:
            sink = IcebergBatchSink(lake_catalog.load(settings), BatchPolicy(batch_size=10_000))  # its own catalog
            barrier.wait()
            for n in range(COMMITS):
                sink.add_all(batch(PER_COMMIT, "feedback.crm", partition, invalid_every=5, start=n * PER_COMMIT))
                sink.flush()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and not any(t.is_alive() for t in threads)

    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(cat, "raw.feedback").to_pylist()
    rejected = lake_catalog.read(cat, "raw.feedback_rejected").to_pylist()
    total = COMMITS * PER_COMMIT
    for p in (0, 1):
        got = sorted(r["kafka_offset"] for r in raw + rejected if r["kafka_partition"] == p)
        assert got == list(range(total))
    expected = {("feedback.crm", 0): total - 1, ("feedback.crm", 1): total - 1}
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        table = cat.load_table(identifier)
        assert lake_catalog.committed_offsets(table) == expected
        assert len(table.snapshots()) == 2 * COMMITS
    assert (settings.home / "catalog.db").exists() == (settings.catalog_uri is None)  # no SQLite beside PostgreSQL


def test_a_stale_writer_cannot_move_an_offset_back(catalog_settings) -> None:
    settings = catalog_settings
    cat = lake_catalog.load(settings)
    table = lake_catalog.ensure_table(cat, "raw.feedback")
    stale = lake_catalog.ensure_table(lake_catalog.load(settings), "raw.feedback")  # loaded before the commit
    lake_catalog.append(table, lake_catalog.to_arrow("raw.feedback", []), offsets={("feedback.crm", 0): 50})
    lake_catalog.append(
        stale, lake_catalog.to_arrow("raw.feedback", []), offsets={("feedback.crm", 0): 10, ("feedback.crm", 1): 3}
    )
    assert lake_catalog.committed_offsets(cat.load_table("raw.feedback")) == {
        ("feedback.crm", 0): 50,
        ("feedback.crm", 1): 3,
    }


def test_two_first_opens_of_a_fresh_catalog_both_succeed(tmp_path) -> None:
    """Two sink subtasks opening at once on a new home race on creating the SQL catalog and tables."""
    from lake.settings import Settings

    for n in range(10):
        settings = Settings(home=tmp_path / f"h{n}")
        errors: list[BaseException] = []

        def open_sink(settings: Settings = settings, errors: list[BaseException] = errors) -> None:
            try:
                IcebergBatchSink(lake_catalog.load(settings))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_sink) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
