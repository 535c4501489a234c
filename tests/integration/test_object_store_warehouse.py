"""The Iceberg warehouse on S3 object storage (the home's local S3 server, the embedded broker's own,
through pyiceberg's S3 file IO): commits with their Kafka offsets, the dbt build and an audit read it
back, and maintenance deletes the orphan objects and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lake import catalog as lake_catalog
from lake import maintenance
from lake.audit import run_audit
from lake.settings import Settings
from services.object_store import s3_properties
from services.object_store import start_warehouse as start_object_store
from services.object_store import stop as stop_object_store

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

AT = datetime(2026, 11, 4, 9, tzinfo=UTC)


@pytest.fixture
def on_s3(tmp_path):
    engines = Settings(home=tmp_path / "engines")  # a home without folders: the server makes its own
    endpoint = start_object_store(engines)  # localbucket comes from pip: a start that fails is the project's failure
    yield Settings(
        home=tmp_path / "home", catalog_warehouse="s3://warehouse/reasonlake", catalog_extra=s3_properties(endpoint)
    )
    stop_object_store(engines)


def rows(n: int, first_offset: int) -> list[dict]:
    return [
        {
            "message_id": f"m{first_offset + i}",
            "source": "crm",
            "text": f"refund still missing after {i + 2} weeks",
            "created_at": AT + timedelta(minutes=i),
            "rating": 1,
            "kafka_topic": "feedback.crm",
            "kafka_partition": 0,
            "kafka_offset": first_offset + i,
            "kafka_timestamp": AT,
            "ingested_at": AT,
        }
        for i in range(n)
    ]


def test_the_lake_on_object_storage_commits_reads_audits_builds_and_cleans_up(on_s3) -> None:
    from dagster_project.cleaning.resources import prepare, run_dbt

    catalog = lake_catalog.load(on_s3)
    table = lake_catalog.ensure_table(catalog, "raw.feedback")
    for n in range(3):
        table = lake_catalog.append(
            table, lake_catalog.to_arrow("raw.feedback", rows(10, n * 10)), offsets={("feedback.crm", 0): n * 10 + 9}
        )
    assert table.location().startswith("s3://warehouse/reasonlake/")
    assert not (on_s3.home / "warehouse" / "raw").exists()  # nothing on the local disk
    assert lake_catalog.committed_offsets(catalog.load_table("raw.feedback")) == {("feedback.crm", 0): 29}
    assert run_audit(on_s3, "select count(*) as n from raw.feedback").column("n").to_pylist() == [30]

    prepare(on_s3)
    run_dbt(on_s3, ["build", "--quiet"])  # dbt reads the sources through pyiceberg's S3 file IO
    import duckdb

    with duckdb.connect(str(on_s3.duckdb_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_feedback_messages").fetchone() == (30,)

    # an object no snapshot references (a writer that died before its commit) goes; the table stays whole
    fs = table.io.fs_by_scheme("s3", "warehouse")
    orphan = "warehouse/reasonlake/raw/feedback/data/orphan-00000.parquet"
    with fs.open_output_stream(orphan) as out:
        out.write(b"PAR1 not a real file")
    [(compaction, _, _, orphans)] = maintenance.maintain(
        catalog,
        ["raw.feedback"],
        orphans_older_than=timedelta(days=-1),  # every unreferenced object
    )
    assert compaction.files_before == 3 and compaction.files_after == 1
    assert orphans.files_deleted >= 1 and fs.get_file_info(orphan).type.name == "NotFound"
    assert len(lake_catalog.read(catalog, "raw.feedback")) == 30
    assert lake_catalog.committed_offsets(catalog.load_table("raw.feedback")) == {("feedback.crm", 0): 29}
