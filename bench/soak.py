"""Disk soak (a script, not a test): a steady ingest for ``--minutes`` with ``maintain`` every
``--maintain-every`` minutes, watching what the Iceberg warehouse holds on disk.

    .venv/bin/python bench/soak.py [--minutes 20] [--rate 100] [--maintain-every 5] [--out bench/out/soak]

1. Starts a fresh home's embedded broker (durable s3 storage) and ``reasonlake ingest`` with its default
   batching (a commit per table every 20 s), then produces current messages at ``--rate`` msg/s
   (1% invalid) until ``--minutes`` have passed.
2. Every ``--maintain-every`` minutes runs :func:`lake.maintenance.maintain` on the raw tables while
   the job keeps committing (snapshots expire after 1 minute, 5 kept; orphan files after a 1-minute
   grace, the CLI's default is a day).
3. Every 30 s samples per table: metadata JSON files, manifest files (lists included) and data files
   on disk, bytes on disk, and the bytes some snapshot still references (the rest is garbage
   ``maintain`` deletes). Prints a line per sample, writes ``soak.csv`` and ``soak.png`` to ``--out``.

Baseline in the same run: without metadata cleanup and maintenance, every commit would leave one
metadata file, one manifest list and its manifests, and every batch one data file for ever; the
summary puts the commit count and the data files written next to what is on disk at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import SOURCES, WORDS, create_topics  # noqa: E402

from flink import kafka_io  # noqa: E402
from lake import catalog as lake_catalog  # noqa: E402
from lake.maintenance import RAW_TABLES, maintain, referenced_files  # noqa: E402
from lake.settings import Settings  # noqa: E402
from services import broker  # noqa: E402

SAMPLE_S = 30.0


def stream(start: int, n: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """``n`` messages created now (1% invalid), as :mod:`bench.ingest` writes them."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for i in range(start, start + n):
        source = SOURCES[i % len(SOURCES)]
        if i % 100 == 99:
            out.append((f"feedback.{source}", b"{broken json"))
            continue
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
        body = {"message_id": f"{source}-{i}", "source": source, "text": text, "created_at": stamp, "rating": 1 + i % 5}
        out.append((f"feedback.{source}", json.dumps(body).encode()))
    return out


def on_disk(table) -> dict[str, float]:
    """Files and bytes under a table's location, and the bytes its snapshots reference."""
    from urllib.parse import urlparse

    root = Path(urlparse(table.location()).path)
    keep = {urlparse(p).path if p.startswith("file:") else p for p in referenced_files(table)}
    sizes = {}
    for path in root.rglob("*"):
        try:  # the running job deletes old metadata files on commit: one may vanish meanwhile
            if path.is_file():
                sizes[path] = path.stat().st_size
        except FileNotFoundError:
            continue
    return {
        "metadata_files": sum(p.name.endswith(".metadata.json") for p in sizes),
        "manifest_files": sum(p.suffix == ".avro" for p in sizes),
        "data_files": sum(p.suffix == ".parquet" for p in sizes),
        "mb_on_disk": sum(sizes.values()) / 2**20,
        "mb_referenced": sum(size for p, size in sizes.items() if str(p) in keep) / 2**20,
        "snapshots": len(table.snapshots()),
    }


class Producer(threading.Thread):
    def __init__(self, bootstrap: str, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.rate, self.seconds = bootstrap, rate, seconds
        self.sent = 0

    def run(self) -> None:
        p = kafka_io.producer(self.bootstrap, 100)
        started = time.time()
        chunk = max(1, int(self.rate))  # one second's worth at a time
        rng = random.Random(1)
        i = 0
        while time.time() - started < self.seconds:
            for topic, value in stream(self.sent, chunk, rng):
                p.produce(topic, value=value)
            p.poll(0)
            self.sent += chunk
            i += 1
            pause = started + i - time.time()
            if pause > 0:
                time.sleep(pause)
        p.flush(60)
        del p  # librdkafka would go on reconnecting to the stopped broker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0, help="produce rate, msg/s")
    parser.add_argument("--maintain-every", type=float, default=5.0, help="minutes between maintenance runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "soak")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="reasonlake-soak-") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        settings.ensure_dirs()
        info = broker.start(settings)
        create_topics(info.bootstrap)
        cat = lake_catalog.load(settings)
        lake_catalog.ensure_all(cat)
        log = open(settings.logs_dir / "soak-ingest.log", "wb")  # noqa: SIM115 (closed with the process)
        job = subprocess.Popen(
            [sys.executable, "-m", "reasonlake", "ingest"],
            cwd=ROOT,
            env=settings.child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        producer = Producer(info.intake or info.bootstrap, args.rate, args.minutes * 60)
        started = time.time()
        producer.start()
        samples: list[dict] = []
        maintained_at = started
        maintenance_runs = 0
        print(
            f"soak: {args.minutes:g} min at {args.rate:g} msg/s, maintain every {args.maintain_every:g} min "
            f"(home {settings.home})",
            flush=True,
        )
        try:
            while producer.is_alive() or time.time() - started < args.minutes * 60:
                time.sleep(SAMPLE_S)
                if job.poll() is not None:
                    raise SystemExit(f"the ingest job exited: see {settings.logs_dir / 'soak-ingest.log'}")
                now = time.time()
                maintained = ""
                if now - maintained_at >= args.maintain_every * 60:
                    reports = maintain(
                        lake_catalog.load(settings),
                        expire_older_than=timedelta(minutes=1),
                        orphans_older_than=timedelta(minutes=1),
                    )
                    maintenance_runs += 1
                    maintained_at = time.time()
                    maintained = "maintained: " + ", ".join(
                        f"{c.table} {c.files_before}->{c.files_after} files, {o.files_deleted} orphans"
                        for c, _, _, o in reports
                    )
                cat = lake_catalog.load(settings)
                for identifier in RAW_TABLES:
                    table = cat.load_table(identifier)
                    rows = sum(o + 1 for o in lake_catalog.committed_offsets(table).values())
                    sample = {"minute": round((now - started) / 60, 2), "table": identifier, "sent": producer.sent}
                    sample |= {"offsets_covered": rows, **on_disk(table)}
                    samples.append(sample)
                feedback = samples[-2]
                print(
                    f"{feedback['minute']:6.1f} min  sent {producer.sent:7d}  raw.feedback: "
                    f"{feedback['metadata_files']:3d} metadata, {feedback['manifest_files']:3d} manifests, "
                    f"{feedback['data_files']:3d} data files, {feedback['mb_on_disk']:7.2f} MB on disk "
                    f"({feedback['mb_referenced']:7.2f} referenced), {feedback['snapshots']} snapshots  {maintained}",
                    flush=True,
                )
        finally:
            producer.join(timeout=120)
            job.send_signal(signal.SIGINT)
            try:
                job.wait(timeout=120)
            except subprocess.TimeoutExpired:
                job.kill()
            log.close()
            broker.stop(settings)

        with open(args.out / "soak.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(samples[0]))
            writer.writeheader()
            writer.writerows(samples)
        plot(samples, args.out / "soak.png")
        summary(samples, maintenance_runs, settings)


def plot(samples: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [s for s in samples if s["table"] == "raw.feedback"]
    minutes = [s["minute"] for s in rows]
    fig, (files, size) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("metadata_files", "manifest_files", "data_files", "snapshots"):
        files.plot(minutes, [s[key] for s in rows], label=key.replace("_", " "))
    files.set(title="raw.feedback: files on disk", xlabel="minutes")
    files.legend()
    size.plot(minutes, [s["mb_on_disk"] for s in rows], label="on disk")
    size.plot(minutes, [s["mb_referenced"] for s in rows], label="referenced by a snapshot")
    size.set(title="raw.feedback: MB", xlabel="minutes")
    size.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary(samples: list[dict], maintenance_runs: int, settings: Settings) -> None:
    cat = lake_catalog.load(settings)
    print(f"\nafter {samples[-1]['minute']:.1f} min, {maintenance_runs} maintenance runs:")
    for identifier in RAW_TABLES:
        rows = [s for s in samples if s["table"] == identifier]
        stamp = "ingested_at" if identifier == "raw.feedback" else "rejected_at"
        # every row of an ingest commit carries the commit's stamp (compaction keeps it): the commits made
        commits = len(set(lake_catalog.read(cat, identifier, selected_fields=(stamp,)).column(stamp).to_pylist()))
        last = rows[-1]
        print(
            f"  {identifier}: offsets covered {last['offsets_covered']}, "
            f"ingest commits {commits} (= metadata files and data files without cleanup and maintenance); "
            f"metadata files on disk max {max(r['metadata_files'] for r in rows)} / end {last['metadata_files']}; "
            f"manifest files max {max(r['manifest_files'] for r in rows)}; "
            f"data files max {max(r['data_files'] for r in rows)} / end {last['data_files']}; "
            f"MB on disk end {last['mb_on_disk']:.2f}, referenced {last['mb_referenced']:.2f}, "
            f"max unreferenced {max(r['mb_on_disk'] - r['mb_referenced'] for r in rows):.2f}"
        )


if __name__ == "__main__":
    main()
