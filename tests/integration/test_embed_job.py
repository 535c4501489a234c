"""The batch embedding job: a week's messages staged in ml.embedding_inputs (one task per data file),
embedded by the PyFlink BATCH job into ml.embeddings, each message once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyiceberg.expressions import EqualTo

from flink.batch_embedding import EmbedWorker, FileOutcome, FileTask, plan_file_tasks, read_file_task, stage_week
from lake import catalog as lake_catalog
from lake.schemas import ML_EMBEDDING_INPUTS, ML_EMBEDDINGS
from reasons.embedding.store import embed_with_store, text_sha256

WEEK = "2026-W46"
MONDAY = datetime(2026, 11, 9, 8, tzinfo=UTC)  # 2026-W46
FAKE_MODEL = "fake-embedder-v1"

SUBJECTS = (
    "my card payment",
    "the mobile app",
    "a transfer to my landlord",
    "the exchange rate",
    "my new PIN",
    "the refund for my order",
    "the top-up by bank transfer",
    "my account verification",
)
TROUBLES = (
    "was declined twice",
    "keeps crashing on login",
    "has not arrived after five days",
    "is much worse than promised",
    "does not work at the ATM",
    "is still pending",
    "failed without any explanation",
    "charged me an extra fee",
)


def messages(n: int, start: int = 0, created: datetime = MONDAY) -> pd.DataFrame:
    ids = range(start, start + n)
    return pd.DataFrame(
        {
            "source": ["crm" if i % 2 else "app" for i in ids],
            "message_id": [f"m{i}" for i in ids],
            "text": [f"{SUBJECTS[i % 8]} {TROUBLES[(i // 8) % 8]} (case {i})" for i in ids],
            "created_at": [created + timedelta(minutes=i) for i in range(n)],
        }
    )


class FakeEmbedder:
    """Deterministic unit vectors from the text's hash; counts the texts it embedded."""

    def __init__(self) -> None:
        self.texts = 0

    def encode(self, sentences, batch_size=32, **kwargs):
        self.texts += len(sentences)
        rows = np.array(
            [
                np.random.default_rng(int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")).normal(size=8)
                for s in sentences
            ],
            dtype=np.float32,
        )
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _inputs(settings):
    return lake_catalog.ensure_table(lake_catalog.load(settings), ML_EMBEDDING_INPUTS.identifier)


def _stored(settings, model):
    return lake_catalog.read(
        lake_catalog.load(settings), ML_EMBEDDINGS.identifier, row_filter=EqualTo("embedding_model", model)
    ).to_pandas()


# ---- planning and the worker, without Flink ------------------------------------------------------
def test_staging_writes_one_file_per_chunk_and_plans_one_task_per_file(settings) -> None:
    staged = stage_week(settings, WEEK, messages(200), FAKE_MODEL, rows_per_file=64)
    assert (staged.messages, staged.staged, staged.files) == (200, 200, 4)
    stage_week(settings, "2026-W47", messages(10, start=500, created=MONDAY + timedelta(days=7)), FAKE_MODEL)

    tasks = plan_file_tasks(_inputs(settings), WEEK)
    assert len(tasks) == 4 and len({t.path for t in tasks}) == 4
    assert sorted(t.records for t in tasks) == [8, 64, 64, 64] and tasks[0].records == 64  # largest first
    assert {t.week for t in tasks} == {WEEK} and len({t.snapshot_id for t in tasks}) == 1
    assert [FileTask.from_json(t.to_json()) for t in tasks] == tasks  # what Flink's collection carries

    read = pd.concat([read_file_task(_inputs(settings), t) for t in tasks])
    assert sorted(read["message_id"]) == sorted(messages(200)["message_id"])  # every row in exactly one file
    assert [t.records for t in plan_file_tasks(_inputs(settings), "2026-W47")] == [10]
    assert plan_file_tasks(_inputs(settings), "2026-W48") == []


def test_staging_skips_stored_messages_and_replaces_the_week(settings) -> None:
    embed_with_store(settings, messages(50), FakeEmbedder(), FAKE_MODEL)
    changed = messages(200)
    changed.loc[3, "text"] = "a changed text is embedded again"
    staged = stage_week(settings, WEEK, changed, FAKE_MODEL, rows_per_file=1000)
    assert (staged.staged, staged.files) == (151, 1)
    staged_ids = read_file_task(_inputs(settings), plan_file_tasks(_inputs(settings), WEEK)[0])["message_id"]
    assert sorted(staged_ids) == sorted(["m3", *(f"m{i}" for i in range(50, 200))])
    # another model has nothing stored; staging again replaces the week's rows
    assert stage_week(settings, WEEK, changed, "other-model", rows_per_file=100).staged == 200
    assert sum(t.records for t in plan_file_tasks(_inputs(settings), WEEK)) == 200
    # nothing left to embed: the week is emptied, no task
    embed_with_store(settings, changed, FakeEmbedder(), FAKE_MODEL)
    assert stage_week(settings, WEEK, changed, FAKE_MODEL).staged == 0
    assert plan_file_tasks(_inputs(settings), WEEK) == []


def test_worker_embeds_its_file_once(settings) -> None:
    frame = messages(120)
    stage_week(settings, WEEK, frame, FAKE_MODEL, rows_per_file=50)
    embedder = FakeEmbedder()
    worker = EmbedWorker(settings, embedder, FAKE_MODEL, batch_size=16)
    tasks = plan_file_tasks(_inputs(settings), WEEK)
    outcomes = [worker.process(t) for t in tasks]
    assert sum(o.embedded for o in outcomes) == 120 and embedder.texts == 120
    assert FileOutcome.from_json(outcomes[0].to_json()) == outcomes[0]
    again = worker.process(tasks[0])  # a task run twice (failover, re-run) appends nothing
    assert (again.rows, again.embedded, again.skipped) == (50, 0, 50)
    stored = _stored(settings, FAKE_MODEL)
    assert len(stored) == 120 and not stored.duplicated(["source", "message_id"]).any()
    assert set(stored["week"]) == {WEEK}
    assert list(stored.set_index("message_id").loc[frame["message_id"], "text_sha256"]) == [
        text_sha256(t) for t in frame["text"]
    ]
    assert embed_with_store(settings, frame, embedder, FAKE_MODEL).computed == 0


# ---- the real PyFlink BATCH job ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_batch_job_embeds_every_message_once_at_parallelism_2(settings) -> None:
    from flink.embed_job import run_embed_job
    from flink.jobconfig import EmbedJobConfig, FlinkRuntime
    from reasons.embedding.backends import EMBEDDING_MODEL, load_embedder
    from reasons.embedding.vectors import embed

    frame = messages(200)
    assert stage_week(settings, WEEK, frame, EMBEDDING_MODEL, rows_per_file=64).files == 4
    config = EmbedJobConfig.from_settings(settings, WEEK, runtime=FlinkRuntime(parallelism=2), batch_size=32)
    summary = run_embed_job(settings, config)
    assert (summary.files, summary.rows, summary.embedded, summary.skipped, summary.parallelism) == (4, 200, 200, 0, 2)
    assert summary.files_per_subtask == {0: 2, 1: 2}  # rebalanced over both subtasks

    stored = _stored(settings, EMBEDDING_MODEL)
    assert len(stored) == 200 and not stored.duplicated(["source", "message_id"]).any()
    stored = stored.set_index("message_id").loc[frame["message_id"]]
    assert list(stored["text_sha256"]) == [text_sha256(t) for t in frame["text"]]
    embedder = load_embedder()
    expected = embed(embedder, frame["text"].tolist())
    vectors = np.vstack(stored["embedding"].to_numpy()).astype(np.float32)
    cosine = np.sum(vectors * expected, axis=1) / np.linalg.norm(vectors, axis=1)
    assert cosine.min() > 0.999
    # the weekly fit's path now embeds nothing
    assert embed_with_store(settings, frame, embedder, EMBEDDING_MODEL).computed == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_batch_job_failure_is_raised(settings) -> None:
    from flink.embed_job import run_embed_job
    from flink.errors import JobFailedError
    from flink.jobconfig import EmbedJobConfig, FlinkRuntime

    stage_week(settings, WEEK, messages(10), FAKE_MODEL)
    config = EmbedJobConfig.from_settings(
        settings,
        WEEK,
        runtime=FlinkRuntime(restart_attempts=0),
        embedding_model=FAKE_MODEL,
        embedder_module="no_such_embedder_module",
    )
    with pytest.raises(JobFailedError, match=r"reasonlake-embed-2026-W46 failed: .*no_such_embedder_module"):
        run_embed_job(settings, config)
    assert len(_stored(settings, FAKE_MODEL)) == 0
