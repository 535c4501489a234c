"""``bench/fit.py --flink-embedding``: the embedding stage as the pipeline runs it (the PyFlink BATCH
embedding job, flink/embed_job.py) at several parallelisms, against the same texts embedded in one process."""

from __future__ import annotations

import time
from pathlib import Path

from bench.fit import NOW, corpus


def run_flink_embedding(size: int, parallelisms: list[int], on_cluster: bool, rows_per_file: int, seed: int) -> list:
    """The batch embedding job on ``size`` staged messages at each of ``parallelisms``: its summaries."""
    import tempfile

    import pandas as pd

    from flink.batch_embedding import stage_week
    from flink.embed_job import run_embed_job
    from flink.jobconfig import EmbedJobConfig
    from lake.settings import Settings
    from reasons.embedding.backends import load_embedder
    from reasons.embedding.vectors import embed
    from services import flink_cluster

    frame, week = corpus(size, seed)
    frame = frame.assign(created_at=pd.Timestamp(NOW))
    started = time.perf_counter()  # the baseline: the same texts embedded in this process, model load included
    embed(load_embedder(), frame["text"].tolist(), batch_size=EmbedJobConfig.batch_size)
    baseline_s = time.perf_counter() - started
    print(f"  in-process baseline: {size} texts in {baseline_s:.1f} s = {size / baseline_s:.0f} texts/s", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="reasonlake-bench-embed-") as tmp:
        engine_home = Settings(home=Path(tmp) / "engines")
        address = flink_cluster.start(engine_home).address if on_cluster else None
        try:
            for parallelism in parallelisms:
                settings = Settings(home=Path(tmp) / f"p{parallelism}", flink_parallelism=parallelism)
                settings = settings.replace(flink_address=address)
                settings.ensure_dirs()
                config = EmbedJobConfig.from_settings(settings, week)
                staged = stage_week(settings, week, frame, config.embedding_model, rows_per_file=rows_per_file)
                summary = run_embed_job(settings, config)
                runs.append(summary)
                print(
                    f"  p{parallelism}: {summary.embedded} texts in {summary.seconds:.1f} s = "
                    f"{summary.embedded / summary.seconds:.0f} texts/s ({summary.files} files of {staged.staged} staged rows; files per "
                    f"subtask {summary.files_per_subtask})",
                    flush=True,
                )
        finally:
            if on_cluster:
                flink_cluster.stop(engine_home)
    first = runs[0]
    print(f"\nSUMMARY embedding job, {size} texts on {'the Flink cluster' if on_cluster else 'the mini-cluster'}")
    print(f"| parallelism | seconds | texts/s | ratio to p{first.parallelism} | ratio to in-process |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| in-process | {baseline_s:.1f} | {size / baseline_s:.0f} | – | 1.00 |")
    for r in runs:
        print(
            f"| {r.parallelism} | {r.seconds:.1f} | {r.embedded / r.seconds:.0f} | {first.seconds / r.seconds:.2f} "
            f"| {baseline_s / r.seconds:.2f} |"
        )
    return runs
