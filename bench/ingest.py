"""Ingestion benchmark (a script, not a test): the real PyFlink ingest job against a plain baseline.

    .venv/bin/python bench/ingest.py [--messages 200000] [--rate 0] [--batch-size 50000] [--flush-interval 20] [--days 14] [--linger-ms 100]
    .venv/bin/python bench/ingest.py --flink-cluster --parallelism 1,2,4 --messages 100000 --batch-size 10000 --no-baseline

1. Starts a fresh home's embedded broker (default storage: durable s3), starts the ingest job
   (``reasonlake ingest``) in a subprocess, produces the first 1% of the N messages (1%
   invalid) as a warm-up and waits until its sink subtask is open, then produces the rest at
   ``--rate`` msg/s (0: as fast as the producer goes, a burst).
2. Prints sustained messages/s (the rest / its first produce → the last Iceberg commit of a full batch;
   also to the last commit, whose partial batch waits for the flush interval), lag produce → commit per
   row (Kafka timestamp → ``ingested_at``, stamped at commit: Iceberg-visible a few ms later),
   p50/p99, files written and median data-file size, peak RSS of the job's driver, Flink JVM and
   Python workers (psutil over the process tree, sampled every 0.5 s).
3. Baseline in the same run: one confluent-kafka consumer reading the same topics from the
   beginning, validating with :mod:`flink.contract` and appending with the same
   :class:`flink.sink.IcebergBatchSink` and batch size into a separate catalog; prints its rate and
   the ratio job / baseline.
4. Scaling: ``--parallelism 1,2,4`` runs the job once per parallelism (a fresh home and broker each,
   three topics of three partitions) and prints each rate as a ratio to the first; with
   ``--flink-cluster`` on a standalone Flink cluster of two TaskManagers (``services.flink_cluster``,
   what ``reasonlake up --profile cluster`` starts), else on the local mini-cluster. On a cluster the
   peak RSS is the driver's only (the TaskManagers are not its children).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.producers import SINGLE_LINGER_MS, produce_at  # noqa: E402
from flink import kafka_io, progress  # noqa: E402
from flink.contract import KafkaEnvelope, validate  # noqa: E402
from flink.jobconfig import BatchPolicy  # noqa: E402
from flink.sink import IcebergBatchSink  # noqa: E402
from lake import catalog as lake_catalog  # noqa: E402
from lake.maintenance import data_files  # noqa: E402
from lake.settings import Settings  # noqa: E402
from services import broker, flink_cluster  # noqa: E402

SOURCES = ("crm", "support_portal", "review_portal")
WORDS = (
    "refund",
    "late",
    "delivery",
    "app",
    "crash",
    "login",
    "password",
    "support",
    "slow",
    "charged",
    "twice",
    "card",
    "blocked",
    "never",
    "arrived",
    "helpful",
    "agent",
    "waiting",
    "hours",
    "update",
)


def messages(n: int, seed: int = 1, days: int = 14) -> list[tuple[str, bytes]]:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        source = SOURCES[i % len(SOURCES)]
        if i % 100 == 99:
            out.append((f"feedback.{source}", b"{broken json"))
            continue
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
        out.append(
            (
                f"feedback.{source}",
                json.dumps(
                    {
                        "message_id": f"{source}-{i}",
                        "source": source,
                        "text": text,
                        "created_at": f"2026-11-{1 + i % days:02d}T{i % 24:02d}:15:00Z",
                        "rating": 1 + i % 5,
                        "user": {"id": f"u{i % 5000}", "segment": "smb", "country": "DE"},
                        "tags": ["bench"],
                    }
                ).encode(),
            )
        )
    return out


class RssSampler(threading.Thread):
    """Peak RSS (MB) per role over a process tree: driver, JVM, Python workers."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.peak = {"driver": 0.0, "jvm": 0.0, "python_workers": 0.0}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            now = {"driver": 0.0, "jvm": 0.0, "python_workers": 0.0}
            for p in procs:
                try:
                    rss = p.memory_info().rss / 2**20
                    name = p.name()
                except psutil.Error:
                    continue
                role = (
                    "driver"
                    if p.pid == self.root.pid
                    else "jvm"
                    if "java" in name
                    else "python_workers"
                    if "python" in name
                    else None
                )
                if role:
                    now[role] += rss
            for k, v in now.items():
                self.peak[k] = max(self.peak[k], v)
            self.stop.wait(0.5)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def create_topics(bootstrap: str, partitions: int = 3) -> None:
    """The feedback topics, before the job starts (a job started on a broker without any feedback topic
    does not open its Python operator until one appears)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
        [NewTopic(f"feedback.{s}", num_partitions=partitions, replication_factor=1) for s in SOURCES]
    ).values():
        future.result(30)


def run_job(settings: Settings, records: list[tuple[str, bytes]], args) -> dict:
    info = broker.start(settings)
    create_topics(info.bootstrap)
    env = settings.child_env()
    # idle 15 s: the s3 broker can stall that long under a trickle, and the job would stop early
    cmd = [
        sys.executable,
        "-m",
        "reasonlake",
        "ingest",
        "--until-idle",
        "15",
        "--batch-size",
        str(args.batch_size),
        "--flush-interval",
        str(args.flush_interval),
    ]
    log = open(settings.logs_dir / "bench-ingest.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = RssSampler(proc.pid)
    sampler.start()
    folder = settings.run_dir / "ingest"
    submitted = time.time()
    # warm-up: the job's Python operator opens on its first record, so a few records go first
    warm = max(100, len(records) // 100)
    kafka_io.produce(info.bootstrap, records[:warm])
    while not list(folder.glob("progress-*.json")):  # the sink subtask is open
        if proc.poll() is not None:
            raise SystemExit(f"ingest job exited early: see {settings.logs_dir / 'bench-ingest.log'}")
        time.sleep(0.2)
    ready = time.time()
    produced_at = produce_at(
        info.intake or info.bootstrap, records[warm:], args.rate, args.linger_ms, args.producers == "single"
    )
    produced_s = time.time() - produced_at
    if proc.wait(timeout=3600) != 0:
        raise SystemExit(f"ingest job failed: see {settings.logs_dir / 'bench-ingest.log'}")
    sampler.stop.set()
    sampler.join()

    cat = lake_catalog.load(settings)
    raw = lake_catalog.read(cat, "raw.feedback", selected_fields=("kafka_timestamp", "ingested_at"))
    rejected = lake_catalog.read(cat, "raw.feedback_rejected", selected_fields=("kafka_timestamp", "rejected_at"))
    start = datetime.fromtimestamp(produced_at, tz=UTC)
    lags = [
        (i - k).total_seconds()
        for k, i in zip(raw.column("kafka_timestamp").to_pylist(), raw.column("ingested_at").to_pylist())
        if k >= start
    ]
    stamps = raw.column("ingested_at").to_pylist() + rejected.column("rejected_at").to_pylist()
    kafka_ts = raw.column("kafka_timestamp").to_pylist() + rejected.column("kafka_timestamp").to_pylist()
    main_rows = sum(k >= start for k in kafka_ts)
    last_commit = max(stamps)
    # A burst's last batch is partial and waits for the flush interval (the job cannot tell the burst
    # ended): "sustained" counts up to the last commit that closed on size (every row of a commit has
    # the same stamp), "drain" up to the very last commit.
    per_commit = Counter(stamps)
    full = [t for t, n in per_commit.items() if n >= args.batch_size]
    last_full = max(full) if full else last_commit
    sustained_rows = sum(k >= start and t <= last_full for k, t in zip(kafka_ts, stamps))
    files = data_files(cat.load_table("raw.feedback"))
    sizes = [f["file_size_in_bytes"] for f in files]
    rows = raw.num_rows + rejected.num_rows
    return {
        "rows": rows,
        "accepted": raw.num_rows,
        "rejected": rejected.num_rows,
        "job_start_s": ready - submitted,
        "produce_s": produced_s,
        "measured_rows": main_rows,
        "sustained_msg_s": sustained_rows / (last_full.timestamp() - produced_at),
        "drain_msg_s": main_rows / (last_commit.timestamp() - produced_at),
        "lag_p50_s": pct(lags, 0.5),
        "lag_p99_s": pct(lags, 0.99),
        "files": len(files),
        "median_file_mb": statistics.median(sizes) / 2**20 if sizes else 0.0,
        "commits": len(cat.load_table("raw.feedback").snapshots()),
        "peak_rss_mb": sampler.peak,
        "bootstrap": info.bootstrap,
    }


def run_baseline(settings: Settings, bootstrap: str, n: int, batch_size: int) -> dict:
    """One confluent-kafka consumer → contract → IcebergBatchSink (same batch size), from the beginning."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    sink = IcebergBatchSink(lake_catalog.load(settings), BatchPolicy(batch_size=batch_size, flush_interval_s=3600))
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-baseline",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            "enable.partition.eof": False,
        }
    )
    tps = kafka_io.topic_partitions(bootstrap, [f"feedback.{s}" for s in SOURCES])
    c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
    started = None
    seen = 0
    idle_since = time.time()
    while seen < n and time.time() - idle_since < 10:
        msgs = c.consume(num_messages=5000, timeout=0.5)
        if not msgs:
            continue
        idle_since = time.time()
        started = started or time.time()
        now = datetime.now(UTC)
        for m in msgs:
            if m.error():
                continue
            _, ts = m.timestamp()
            sink.add_outcome(validate(KafkaEnvelope(m.topic(), m.partition(), m.offset(), ts, m.value()), now))
            seen += 1
            if sink.due():
                sink.flush()
    sink.flush()
    c.close()
    elapsed = time.time() - (started or time.time())
    return {"rows": seen, "msg_s": seen / elapsed if elapsed else float("nan"), "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=0.0, help="produce rate msg/s (0: unthrottled burst)")
    parser.add_argument("--batch-size", type=int, default=BatchPolicy.batch_size)
    parser.add_argument("--flush-interval", type=float, default=BatchPolicy.flush_interval_s)
    parser.add_argument(
        "--linger-ms",
        type=int,
        default=kafka_io.DEFAULT_LINGER_MS,
        help="producer linger.ms of a --rate run (librdkafka's own default: 5)",
    )
    parser.add_argument(
        "--producers",
        default="single",
        choices=["single", "batching"],
        help="a --rate run's producers: single (default: one per platform, one event per produce call, linger.ms "
        f"{SINGLE_LINGER_MS}, as real platforms send) or batching (one producer, chunks of rate/20, --linger-ms)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=14,
        choices=range(1, 29),
        metavar="1..28",
        help="days of created_at the messages spread over (1: a steady stream of current messages)",
    )
    parser.add_argument("--storage", default="s3", choices=["s3", "memory"], help="embedded broker storage")
    parser.add_argument(
        "--intake",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="producers send through the broker's intake (the default), or straight to Tansu",
    )
    parser.add_argument("--intake-linger-ms", type=float, default=None, help="the intake's linger (default: Settings')")
    parser.add_argument("--home", type=Path, default=None, help="work directory (default: a temp dir, removed)")
    parser.add_argument(
        "--python-mode",
        default="thread",
        choices=["process", "thread"],
        help="PyFlink python.execution-mode of the job (the ingest job's default: thread)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--parallelism", default="1", help="comma-separated job parallelisms, one run each")
    parser.add_argument(
        "--flink-cluster", action="store_true", help="run the job on a standalone Flink cluster (2 TaskManagers)"
    )
    args = parser.parse_args()

    tmp = None if args.home else tempfile.TemporaryDirectory(prefix="reasonlake-bench-")
    base = args.home or Path(tmp.name)
    parallelisms = [int(p) for p in args.parallelism.split(",")]
    records = messages(args.messages, days=args.days)
    linger = SINGLE_LINGER_MS if args.producers == "single" else args.linger_ms
    print(
        f"benchmark: {args.messages} messages ({sum(len(v) for _, v in records) / len(records):.0f} B avg), "
        f"rate {'burst' if args.rate <= 0 else f'{args.rate} ({args.producers} producers, linger {linger} ms)'}, batch {args.batch_size}/{args.flush_interval}s, "
        f"created_at over {args.days} day(s), broker storage {args.storage}, intake {'on' if args.intake else 'off'}, python mode {args.python_mode}, "
        f"parallelism {args.parallelism} on {'a standalone Flink cluster' if args.flink_cluster else 'the mini-cluster'}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    engine_home = Settings(home=base / "engines")
    address = flink_cluster.start(engine_home).address if args.flink_cluster else None
    jobs: dict[int, dict] = {}
    baseline: dict | None = None
    try:
        for parallelism in parallelisms:
            job_settings = Settings(
                home=base / f"job-p{parallelism}",
                broker_storage=args.storage,
                broker_intake=args.intake,
                flink_python_mode=args.python_mode,
                flink_parallelism=parallelism,
                flink_address=address,
            )
            if args.intake_linger_ms is not None:
                job_settings = job_settings.replace(broker_intake_linger_ms=args.intake_linger_ms)
            job_settings.ensure_dirs()
            try:
                job = jobs[parallelism] = run_job(job_settings, records, args)
                print(json.dumps({"job": job, "parallelism": parallelism}, indent=2, default=str), flush=True)
                if baseline is None and not args.no_baseline:
                    base_settings = Settings(home=base / "baseline").replace(bootstrap_servers=job["bootstrap"])
                    base_settings.ensure_dirs()
                    baseline = run_baseline(base_settings, job["bootstrap"], args.messages, args.batch_size)
                    print(json.dumps({"baseline": baseline}, indent=2), flush=True)
            finally:
                broker.stop(job_settings)
                progress.clear_progress(job_settings.run_dir / "ingest")
    finally:
        if args.flink_cluster:
            flink_cluster.stop(engine_home)
        if tmp is not None:
            tmp.cleanup()
    print()
    first = jobs[parallelisms[0]]
    for parallelism, job in jobs.items():
        print(
            f"SUMMARY job p{parallelism}: {job['sustained_msg_s']:.0f} msg/s sustained "
            f"({job['drain_msg_s']:.0f} msg/s to the last commit, the final partial batch included), "
            f"x{job['sustained_msg_s'] / first['sustained_msg_s']:.2f} of p{parallelisms[0]}, lag p50 "
            f"{job['lag_p50_s']:.2f} s / p99 {job['lag_p99_s']:.2f} s, {job['files']} files (median "
            f"{job['median_file_mb']:.2f} MB), peak RSS driver {job['peak_rss_mb']['driver']:.0f} MB, JVM "
            f"{job['peak_rss_mb']['jvm']:.0f} MB, Python workers {job['peak_rss_mb']['python_workers']:.0f} MB"
        )
    if baseline is not None:
        print(
            f"SUMMARY baseline: {baseline['msg_s']:.0f} msg/s; ratio job/baseline "
            f"{first['sustained_msg_s'] / baseline['msg_s']:.2f} (p{parallelisms[0]})"
        )


if __name__ == "__main__":
    main()
