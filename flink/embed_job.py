"""The batch embedding job: one week's ``ml.embedding_inputs`` → embeddings → ``ml.embeddings``.

PyFlink in BATCH runtime mode: the driver plans the scan of the week's staged rows with pyiceberg
(:func:`flink.batch_embedding.plan_file_tasks`, one task per data file) → a collection source of
task strings → ``rebalance`` → :class:`flink.operators.EmbedFunction` on ``runtime.parallelism``
subtasks (each reads its files with pyiceberg, embeds, appends to ``ml.embeddings``) → the
outcomes are collected by the driver. The job ends by itself once every file is done. On a Flink
cluster (``REASONLAKE_FLINK_ADDRESS``, ``REASONLAKE_FLINK_PARALLELISM``) the files spread over its
TaskManagers; nothing else changes. Stage the week first (:func:`flink.batch_embedding.stage_week`,
what the Dagster asset ``ml/embeddings`` does).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from pyflink.common import Types
from pyflink.datastream import RuntimeExecutionMode

from flink import operators, runtime
from flink.batch_embedding import FileOutcome, plan_file_tasks
from flink.errors import JobFailedError
from flink.jobconfig import EmbedJobConfig
from lake import catalog as lake_catalog
from lake.schemas import ML_EMBEDDING_INPUTS
from lake.settings import Settings


@dataclass(frozen=True)
class EmbedSummary:
    week: str
    files: int  # file tasks (staged data files) of the week
    rows: int  # staged rows read
    embedded: int  # texts embedded and appended to ml.embeddings
    skipped: int  # staged rows already stored when their task ran
    parallelism: int  # subtasks of the embedding operator (0: nothing staged, Flink not started)
    seconds: float
    files_per_subtask: dict[int, int] = field(default_factory=dict)  # how the file tasks spread


def run_embed_job(settings: Settings, config: EmbedJobConfig) -> EmbedSummary:
    """Embed the week's staged messages with the PyFlink BATCH job; returns when it has finished.

    Without staged rows, Flink is not started. Raises :class:`JobFailedError` if the job fails.
    """
    started = time.monotonic()
    settings.ensure_dirs()
    table = lake_catalog.ensure_table(lake_catalog.load(settings), ML_EMBEDDING_INPUTS.identifier)
    tasks = plan_file_tasks(table, config.week)
    if not tasks:
        return EmbedSummary(
            week=config.week,
            files=0,
            rows=0,
            embedded=0,
            skipped=0,
            parallelism=0,
            seconds=round(time.monotonic() - started, 3),
        )
    parallelism = max(1, min(config.runtime.parallelism, len(tasks)))  # no subtask without a file
    env = runtime.create_env(replace(config.runtime, parallelism=parallelism))
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    outcomes = (
        env.from_collection([t.to_json() for t in tasks], type_info=Types.STRING())
        .name("staged-files")
        .rebalance()
        .flat_map(operators.EmbedFunction(config), output_type=Types.STRING())
        .name("embed-and-append")
        .set_parallelism(parallelism)
    )  # explicit: BATCH's adaptive scheduler would size it by bytes (1 here)
    done = [FileOutcome.from_json(line) for line in _collect(outcomes, f"{config.job_name}-{config.week}")]
    if sorted(o.path for o in done) != sorted(t.path for t in tasks):
        raise JobFailedError(f"{config.job_name}: {len(done)} of {len(tasks)} file tasks reported back")
    return EmbedSummary(
        week=config.week,
        files=len(tasks),
        rows=sum(o.rows for o in done),
        embedded=sum(o.embedded for o in done),
        skipped=sum(o.skipped for o in done),
        parallelism=parallelism,
        seconds=round(time.monotonic() - started, 3),
        files_per_subtask=dict(sorted(Counter(o.subtask for o in done).items())),
    )


def _collect(stream, job_name: str) -> list[str]:
    """Run the job and collect its output (the job is bounded: it finishes by itself)."""
    try:
        with stream.execute_and_collect(job_name) as results:
            return list(results)
    except Exception as exc:
        raise JobFailedError(
            f"Flink job {job_name} failed: {_cause(exc)}; task logs: {runtime.flink_log_dir()}"
        ) from exc


_PYTHON_ERROR = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _cause(exc: BaseException) -> str:
    """The Python worker's error line when the Java trace carries one (else the first line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    python = [line for line in lines if _PYTHON_ERROR.match(line) and not line.startswith(("java.", "org.", "py4j."))]
    return python[-1] if python else (lines[0] if lines else type(exc).__name__)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--week", required=True, help="ISO week YYYY-Www (staged by the Dagster asset ml/embeddings)")
    parser.add_argument("--batch-size", type=int, default=EmbedJobConfig.batch_size, help="texts per encode call")
    args = parser.parse_args()
    settings = Settings.from_env()
    print(
        run_embed_job(settings, EmbedJobConfig.from_settings(settings, args.week, batch_size=args.batch_size)),
        flush=True,
    )
