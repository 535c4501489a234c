"""The whole pipeline on the scale-out engines, as `eval "$(reasonlake up --profile cluster)"` sets them
up: produce → the ingest job at parallelism 4 on a standalone Flink cluster of two TaskManagers →
the weekly graph (the batch embedding job on the same cluster, the Iceberg catalog on PostgreSQL, the
warehouse on S3) → Feast on Redis → the alert job on the cluster, reading Redis."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyiceberg.expressions import EqualTo

from flink import kafka_io
from lake import catalog as lake_catalog
from lake.settings import Settings
from reasonlake.demo import run_demo
from services import broker, postgres
from tests.support.demo_checks import check_alerts
from tests.support.feedback import feedback_records
from tests.support.os_packages import install_or_skip
from tests.support.paths import REPO
from tests.support.serving import get, post, serving

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout, pytest.mark.slow, pytest.mark.timeout(1500)]


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reasonlake", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def launch(args: list[str], settings: Settings) -> tuple[subprocess.Popen, Path]:
    """``reasonlake ARGS`` in the background, its output to a log file in the home."""
    log = settings.logs_dir / f"test-{args[0]}.log"
    with open(log, "wb") as out:
        cmd = [sys.executable, "-m", "reasonlake", *args]
        return subprocess.Popen(cmd, cwd=REPO, env=settings.child_env(), stdout=out, stderr=subprocess.STDOUT), log


@pytest.fixture
def cluster_profile() -> Iterator[Settings]:
    """The settings README's `eval "$(reasonlake up --profile cluster)"` exports, on a fresh home;
    `reasonlake down` at the end stops every engine."""
    # PostgreSQL runs as Debian's postgres user: the home must be reachable by it (pytest's tmp is not)
    folder = Path(tempfile.mkdtemp(prefix="reasonlake-scaleout-", dir="/tmp"))
    os.chmod(folder, 0o755)
    home = folder / "home"
    env = Settings(home=home).child_env()
    try:  # only the Debian packages' absence skips; an engine that fails to start, fails
        install_or_skip("redis-server")
        install_or_skip("initdb", postgres.find_initdb)
    except pytest.skip.Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    up = cli(["--home", str(home), "up", "--profile", "cluster"], env)
    if up.returncode != 0:
        cli(["--home", str(home), "down"], env)
        shutil.rmtree(folder, ignore_errors=True)
    assert up.returncode == 0, up.stderr.strip()[-2000:]
    exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in up.stdout.splitlines())
    assert exported["REASONLAKE_HOME"] == str(home.absolute())
    try:
        yield Settings.from_env({**env, **exported})
    finally:
        down = cli(["--home", str(home), "down"], env)
        shutil.rmtree(folder, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    for engine in ("Flink cluster", "PostgreSQL", "Redis"):
        assert f"{engine} stopped" in down.stdout, down.stdout


def flink_jobs(address: str) -> list[dict]:
    with urllib.request.urlopen(f"http://{address}/jobs/overview", timeout=10) as response:
        return json.load(response)["jobs"]


def test_the_demo_runs_on_flink_cluster_postgres_redis_and_s3(cluster_profile: Settings) -> None:
    from feature_repo.online import ReasonLookup

    settings = cluster_profile
    assert settings.flink_address and settings.catalog_uri and settings.catalog_uri.startswith("postgresql+psycopg")
    assert settings.online_store and settings.online_store.startswith("redis://")
    # one week (two are the embedded end-to-end test's): the engines are the point here
    report = run_demo(settings, messages=1200, weeks=1, seed=21, incoming=40, echo=print)
    assert report.ok, report
    check_alerts(report)  # the surge alerts, praise and neutral messages never do

    # every Flink job ran on the cluster: ingestion, one embedding job per week, the alert job
    jobs = flink_jobs(settings.flink_address)
    assert not [j for j in jobs if j["state"] == "FAILED"], jobs
    assert sorted(j["name"].split("-")[1] for j in jobs) == ["alerts", "embed", "ingest"], jobs  # + the week's
    assert all(j["state"] in {"FINISHED", "CANCELED"} for j in jobs), jobs

    # the catalog is PostgreSQL's, the data files are on S3 (its server outlived the demo's broker)
    assert not (settings.home / "catalog.db").exists()
    cat = lake_catalog.load(settings)
    for name in ("raw.feedback", "raw.feedback_rejected", "ml.elections", "ml.topics", "alerts.alerts"):
        table = cat.load_table(name)
        assert table.metadata_location.startswith("s3://warehouse/reasonlake/"), table.metadata_location
        files = table.inspect.files().column("file_path").to_pylist()
        assert files and all(f.startswith("s3://warehouse/reasonlake/") for f in files), name
    assert report.ingested == lake_catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).num_rows

    # the elected reasons are served from Redis (Feast's SQLite file was never made)
    elections = lake_catalog.read(cat, "ml.elections").to_pandas()
    latest = elections[elections["week"] == elections["week"].max()]
    elected = latest[latest["elected"]]["reason_id"].tolist()
    assert elected
    online = ReasonLookup(settings).get(elected)
    assert all(online[r] is not None and online[r]["elected"] for r in elected), online
    assert not (settings.feast_dir / "online.db").exists()

    # the classify API (`reasonlake serve` with the profile's settings) judges from the same Redis: the
    # week's own dissatisfied messages of the top reason are that reason again, and elected
    top = latest[latest["elected"]].sort_values("rank")["reason_id"].iloc[0]
    members = lake_catalog.read(cat, "ml.message_topics", row_filter=EqualTo("week", str(latest["week"].iloc[0])))
    ids = {r["message_id"] for r in members.to_pylist() if r["reason_id"] == top and r["dissatisfied"]}
    rows = [r for r in lake_catalog.read(cat, "raw.feedback").to_pylist() if r["message_id"] in ids][:20]
    assert len(rows) >= 10, len(rows)
    with serving(settings) as url:
        health = get(url + "/health")
        assert not health["stale"] and health["week"] == latest["week"].iloc[0], health
        batch = [{"text": r["text"], "rating": r["rating"]} for r in rows]
        answer = post(url + "/classify", {"messages": batch})["results"]
        assert sum(r["reason_id"] == top and r["elected"] for r in answer) >= 0.8 * len(rows), answer

    # ingestion at parallelism 4, a maintenance run and a weekly run, all committing to the PostgreSQL
    # catalog at once: nothing lost or doubled, the committed offsets at each partition's last record
    week = str(elections["week"].max())
    bootstrap = broker.start(settings).bootstrap  # the demo stopped it; its s3 storage kept the topics
    stop = threading.Event()

    def trickle() -> None:  # 5 messages a second while the others run (at most 2 minutes): commits all along
        for start in range(0, 600, 5):
            kafka_io.produce(bootstrap, feedback_records(start, 5, 97))
            if stop.wait(1.0):
                return

    producer = threading.Thread(target=trickle)
    producer.start()
    started = time.time()
    try:
        ingest = launch(["ingest", "--until-idle", "8", "--batch-size", "300", "--flush-interval", "5"], settings)
        maintain = launch(["maintain", "--expire-older-than", "0", "--retain-last", "1"], settings)
        weekly = launch(["weekly", "--week", week], settings)
        for run, log in (weekly, maintain):
            assert run.wait(timeout=600) == 0, log.read_text()[-3000:]
        weekly_done = time.time()
    finally:
        stop.set()
        producer.join()
    assert ingest[0].wait(timeout=300) == 0, ingest[1].read_text()[-3000:]
    cat = lake_catalog.load(settings)
    topics = sorted({topic for topic, _ in lake_catalog.committed_offsets(cat.load_table("raw.feedback"))})
    records = kafka_io.consume(bootstrap, topics, max_idle_s=3.0)
    landed: Counter = Counter()
    for name in ("raw.feedback", "raw.feedback_rejected"):
        rows = lake_catalog.read(cat, name, selected_fields=("kafka_topic", "kafka_partition", "kafka_offset"))
        landed.update((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in rows.to_pylist())
    assert landed.most_common(1)[0][1] == 1, "a record was written twice"
    assert set(landed) == {(r.topic, r.partition, r.offset) for r in records}, "records lost"
    last: dict = {}
    for r in records:
        last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
    assert lake_catalog.committed_offsets(cat.load_table("raw.feedback")) == last
    commits = [snap.timestamp_ms / 1000 for snap in cat.load_table("raw.feedback").snapshots()]
    assert sum(started < t < weekly_done for t in commits) >= 3, "the ingest commits did not overlap the others"
