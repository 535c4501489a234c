"""Alert job benchmark (a script, not a test): throughput in a burst and produce→alert latency.

    .venv/bin/python bench/alerts.py [--burst 2000] [--latency-seconds 30] [--configs 64:50[,BATCH:MS[:FETCH_MS]...]]
                                     [--storage s3|memory] [--backend fp32|int8-onnx] [--home DIR]

1. builds a live model the real way in a fresh home: one synthetic week produced, ingested, and run
   through the weekly graph (dbt, embedding job, BERTopic, registry, election, Feast);
2. baseline: the same model's batched ``encode`` (``reasons.embedding.vectors.embed``, batches of
   ``--batch-size``) on the burst's texts, in this process, nothing else running: texts/s;
3. burst: ``--burst`` dissatisfied messages about the week's issues are produced *before* the alert job
   (``reasonlake alerts``, a subprocess) starts, so it reads a backlog: messages/s from the first to the
   last micro-batch it classified (its progress files), and the ratio to the baseline (target ≥ 0.8);
4. latency: messages produced at half the measured burst rate for ``--latency-seconds`` by producers as
   platforms are (``bench/producers.py``: one per platform, one event per ``produce`` call), each one an
   alert; latency = arrival of the alert at a consumer of ``feedback.alerts`` − the input record's
   Kafka timestamp (the alert record's own timestamp is the input's: Flink carries it over); p50 and
   p99 (targets ≤ 100 ms and ≤ 500 ms). The rate limit is lifted for the run;
5. the classify API (``reasonlake serve``, a subprocess on the same home): ``--api-requests`` sequential
   ``POST /classify`` of one message each (dissatisfied texts, so every one is embedded and matched),
   client-side latency p50 / p99.

Prints the figures and the machine; ``--json`` writes them too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.producers import produce_single  # noqa: E402
from flink import kafka_io, progress  # noqa: E402
from lake.settings import ALERTS_TOPIC, Settings  # noqa: E402
from services import broker, object_store  # noqa: E402


def build_live_model(settings: Settings) -> None:
    """One synthetic week through ingestion and the weekly graph: a promoted model and election."""
    from reasonlake.synthetic import SyntheticSpec, generate
    from reasonlake.weekly import materialize_week

    records, truth = generate(SyntheticSpec(messages=1500, weeks=1, seed=3, invalid_rate=0.0))
    kafka_io.produce(broker.intake_servers(settings), ((r.topic, r.value) for r in records))
    exe = str(Path(sys.executable).with_name("reasonlake"))
    subprocess.run(
        [exe, "--home", str(settings.home), "ingest", "--until-idle", "5", "--flush-interval", "2"],
        check=True,
        env=settings.child_env(),
        stdout=subprocess.DEVNULL,
    )
    result = materialize_week(settings, truth.weeks[0], log_level="ERROR")
    if not result.success:
        raise SystemExit(f"the weekly run failed: {result.summary()}")
    print(f"live model: {result.summary()}", flush=True)


def messages(n: int, seed: int) -> list[tuple[str, bytes]]:
    """Dissatisfied messages (rating 1) about the week's issues: each one classified, most alerting."""
    from reasonlake.synthetic import incoming

    records, _ = incoming(n, seed=seed, now=datetime.now(UTC), surge_share=1.0)
    out = []
    for r in records:
        body = json.loads(r.value)
        body["rating"] = 1
        out.append((r.topic, json.dumps(body).encode()))
    return out


def baseline_rate(texts: list[str], batch_size: int, backend: str) -> float:
    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed

    embedder = load_embedder(backend)
    embed(embedder, texts[:64], batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    embed(embedder, texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - started)


def start_job(settings: Settings, batch_size: int, batch_ms: int, fetch_ms: int | None) -> subprocess.Popen:
    exe = str(Path(sys.executable).with_name("reasonlake"))
    cmd = [
        exe,
        "--home",
        str(settings.home),
        "alerts",
        "--batch-size",
        str(batch_size),
        "--batch-ms",
        str(batch_ms),
        "--max-alerts-per-reason",
        "1000000000",
        "--reload-interval",
        "30",
    ]
    cmd += ["--fetch-max-wait-ms", str(fetch_ms)] if fetch_ms else []
    log = open(settings.logs_dir / "bench-alerts.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(cmd, env=settings.child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_job(job: subprocess.Popen) -> None:
    """Ctrl-C: the job stops with a savepoint, the next configuration's job restores it."""
    if job.poll() is None:
        os.kill(job.pid, signal.SIGINT)
        try:
            job.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)


def burst_rate(settings: Settings, job: subprocess.Popen, n: int, timeout_s: float = 900) -> dict:
    """Messages/s of the job on a backlog of ``n``: from its first classified batch to its last."""
    folder = settings.run_dir / "alerts" / "classify"
    first: tuple[float, int] | None = None  # (when, messages) of the first batch seen
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if job.poll() is not None:
            raise SystemExit(f"the alert job exited: see {settings.logs_dir / 'bench-alerts.log'}")
        states = []
        for path in folder.glob("progress-*.json"):
            try:
                states.append(progress.Progress.from_json(path.read_text()))
            except (OSError, ValueError, TypeError):
                pass
        seen = sum(p.records_seen for p in states)
        if seen and first is None:
            first = (max(p.updated_at for p in states), seen)
        if first is not None and seen >= n:
            last = max(p.updated_at for p in states)
            seconds = max(last - first[0], 1e-9)
            return {
                "messages": n,
                "seconds": seconds,
                "msg_s": (n - first[1]) / seconds,
                "counts": dict(progress.totals(states).counts),
            }
        time.sleep(0.05)
    raise SystemExit("the burst did not finish in time")


def latency(settings: Settings, rate: float, seconds: float, seed: int) -> dict:
    """Produce at ``rate`` for ``seconds``; every alert's arrival − its input's Kafka timestamp."""
    from confluent_kafka import Consumer, TopicPartition

    bootstrap = broker.intake_servers(settings)  # as a team's consumer of the alerts reads them
    phase_start = time.time()
    delays: list[float] = []
    decided: list[float] = []  # input timestamp → the classify operator's decision (alerted_at: batch classified)
    problems: list[str] = []
    stop = threading.Event()

    def consume() -> None:
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{seed}",
                "enable.auto.commit": False,
            }
        )
        # from the end: the burst's alerts before this phase are not read again
        tps = kafka_io.topic_partitions(bootstrap, [ALERTS_TOPIC])
        c.assign([TopicPartition(t, p, c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]) for t, p in tps])
        while not stop.is_set():
            msg = c.poll(0.01)
            if msg is None:
                continue
            if msg.error():
                problems.append(str(msg.error()))
                continue
            arrived = time.time()
            alert = json.loads(msg.value())
            if alert.get("kind") != "alert":
                continue
            sent = datetime.fromisoformat(alert["kafka_timestamp"]).timestamp()
            if sent >= phase_start:
                delays.append(arrived - sent)
                decided.append(datetime.fromisoformat(alert["alerted_at"]).timestamp() - sent)
        c.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    time.sleep(2)  # the consumer is assigned and polling
    records = messages(int(rate * seconds), seed)
    produce_single(broker.intake_servers(settings), records, rate)  # one event at a time, a producer per platform
    time.sleep(10)  # the last alerts arrive
    stop.set()
    reader.join(5)
    if problems:
        print(f"consumer errors: {problems[:3]}", flush=True)

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")

    return {
        "rate_msg_s": rate,
        "produced": len(records),
        "alerts": len(delays),
        "p50_ms": pct(delays, 0.5),
        "p99_ms": pct(delays, 0.99),
        "mean_ms": statistics.mean(delays) * 1000 if delays else float("nan"),
        "to_decision_p50_ms": pct(decided, 0.5),
        "to_decision_p99_ms": pct(decided, 0.99),
    }


def api_latency(settings: Settings, requests: int) -> dict:
    """p50/p99 of one-message ``POST /classify`` against a running ``reasonlake serve``."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(ROOT / ".venv" / "bin" / "reasonlake"), "--home", str(settings.home), "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        texts = [json.loads(v)["text"] for _, v in messages(requests + 20, seed=7)]
        delays = []
        for i, text in enumerate(texts):
            body = json.dumps({"text": text, "rating": 1, "message_id": str(i)}).encode()
            request = urllib.request.Request(
                f"{url}/classify", data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            began = time.perf_counter()
            urllib.request.urlopen(request, timeout=30).read()
            if i >= 20:  # the first requests warm the model up
                delays.append(time.perf_counter() - began)
    finally:
        server.terminate()
        server.wait(30)
    delays.sort()
    figures = {
        "requests": len(delays),
        "p50_ms": delays[len(delays) // 2] * 1000,
        "p99_ms": delays[min(len(delays) - 1, int(0.99 * len(delays)))] * 1000,
    }
    print(
        f"SUMMARY classify API, one message per request: p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms over {figures['requests']} requests",
        flush=True,
    )
    return figures


def parse_config(text: str) -> tuple[int, int, int | None]:
    """``BATCH:MS[:FETCH_MS]``: messages per micro-batch, its flush interval, the source's fetch wait."""
    parts = [int(p) for p in text.split(":")]
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


def run_config(settings: Settings, config: tuple[int, int, int | None], args, base: float) -> dict:
    batch_size, batch_ms, fetch_ms = config
    burst = messages(args.burst, seed=int(time.time()))  # fresh ids: the job's restored state knows the old ones
    kafka_io.produce(broker.intake_servers(settings), burst)  # a backlog before the job (re)starts
    progress.clear_progress(settings.run_dir / "alerts" / "classify")  # the previous job's counts
    job = start_job(settings, batch_size, batch_ms, fetch_ms)
    try:
        result = burst_rate(settings, job, args.burst)
        lat = latency(settings, rate=result["msg_s"] / 2, seconds=args.latency_seconds, seed=int(time.time()) + 1)
    finally:
        stop_job(job)
    figures = {
        "micro_batch": batch_size,
        "batch_ms": batch_ms,
        "fetch_max_wait_ms": fetch_ms,
        "burst": result,
        "latency": lat,
        "ratio": result["msg_s"] / base,
    }
    print(
        f"SUMMARY micro-batch {batch_size} / {batch_ms} ms, fetch wait {fetch_ms or 'default'}: burst "
        f"{result['msg_s']:.0f} msg/s vs baseline {base:.0f} texts/s, ratio {figures['ratio']:.2f} (target >= 0.8); "
        f"latency at {lat['rate_msg_s']:.0f} msg/s: p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms over "
        f"{lat['alerts']} alerts (targets <= 100 / 500 ms; input → decision p50 {lat['to_decision_p50_ms']:.0f} ms, "
        f"p99 {lat['to_decision_p99_ms']:.0f} ms)",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument(
        "--configs",
        default="64:50",
        help="comma-separated BATCH:MS[:FETCH_MS] micro-batch "
        "configurations, run one after the other on the same model (default: the job's defaults)",
    )
    parser.add_argument(
        "--storage",
        default=Settings.model_fields["broker_storage"].default,
        choices=["s3", "memory"],
        help="embedded broker storage (default: the user's default)",
    )
    parser.add_argument(
        "--python-mode",
        default=None,
        choices=["process", "thread"],
        help="PyFlink python.execution-mode of the job (default: the job's own)",
    )
    parser.add_argument(
        "--backend",
        default=Settings.model_fields["embedding_backend"].default,
        choices=["fp32", "int8-onnx"],
        help="embedding backend of the weekly fit, hence of the job and the baseline (default: the user's)",
    )
    parser.add_argument("--api-requests", type=int, default=300, help="one-message /classify requests (0: skip)")
    parser.add_argument("--home", type=Path, default=None, help="work directory (default: a temp dir, removed)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--log-object-store", action="store_true", help="log every request of the s3 storage's server (diagnosis)"
    )
    args = parser.parse_args()

    tmp = None if args.home else tempfile.TemporaryDirectory(prefix="reasonlake-bench-alerts-")
    home = args.home or Path(tmp.name) / "home"
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        home=home, broker_storage=args.storage, flink_python_mode=args.python_mode, embedding_backend=args.backend
    )
    settings.ensure_dirs()
    configs = [parse_config(c) for c in args.configs.split(",")]
    print(
        f"benchmark: burst {args.burst}, latency {args.latency_seconds:.0f} s, configurations {configs}, "
        f"broker storage {args.storage}, python mode {args.python_mode or 'the job default'}, {os.cpu_count()} CPUs",
        flush=True,
    )
    object_store.log_requests = args.log_object_store
    try:
        broker.start(settings)
        build_live_model(settings)
        texts = [json.loads(v)["text"] for _, v in messages(args.burst, seed=1)]
        base = baseline_rate(texts, configs[0][0], settings.embedding_backend)
        print(f"baseline: batched encode {base:.0f} texts/s", flush=True)
        figures = {
            "baseline_texts_s": base,
            "cpus": os.cpu_count(),
            "storage": args.storage,
            "runs": [run_config(settings, c, args, base) for c in configs],
            "api": api_latency(settings, args.api_requests) if args.api_requests else None,
        }
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        broker.stop(settings)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
