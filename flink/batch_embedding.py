"""Batch embedding of one week's messages: the plain side of ``flink/embed_job.py`` (no PyFlink).

1. :func:`stage_week` — the week's cleaned messages that have no embedding in ``ml.embeddings`` for
   the model yet → ``ml.embedding_inputs`` (the week's rows replaced), in files of ``rows_per_file``
   rows: each data file is one task of the job.
2. :func:`plan_file_tasks` — pyiceberg plans the scan of the week's staged rows; every planned data
   file becomes a :class:`FileTask` (a JSON string in Flink's collection source).
3. :class:`EmbedWorker` — what one Flink subtask does with a task: read that file with pyiceberg
   (the table's FileIO, so a warehouse on S3 works the same), skip the keys stored meanwhile,
   embed the rest (:func:`reasons.embedding.vectors.embed`) and append them to ``ml.embeddings``
   (:func:`reasons.embedding.store.append_embeddings`, retried on concurrent commits).

A task that runs twice (a Flink failover, a re-run of the job) appends nothing twice: the worker
checks the keys of its file against ``ml.embeddings`` right before embedding.
"""

from __future__ import annotations

import importlib
import json
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
from pyiceberg.expressions import EqualTo
from pyiceberg.table import Table

from lake import catalog as lake_catalog
from lake.schemas import ML_EMBEDDING_INPUTS
from lake.settings import Settings
from lake.weeks import parse_week
from reasons.embedding.store import append_embeddings, message_keys, unstored
from reasons.embedding.vectors import embed

INPUT_COLUMNS = ("source", "message_id", "text", "created_at")


@dataclass(frozen=True)
class Staged:
    """What :func:`stage_week` wrote."""

    week: str
    messages: int  # cleaned messages of the week
    staged: int  # of which had no stored embedding: staged for the job
    files: int  # data files written (the job's tasks)


@dataclass(frozen=True)
class FileTask:
    """One data file of the week's staged rows: the unit of work of a subtask."""

    week: str
    path: str
    snapshot_id: int
    records: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FileTask:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class FileOutcome:
    """What a subtask did with one :class:`FileTask`."""

    path: str
    rows: int  # staged rows read from the file
    embedded: int  # embedded and appended to ml.embeddings
    skipped: int  # already stored when the task ran (a re-run, another writer)
    seconds: float
    subtask: int = -1  # index of the Flink subtask that ran it (-1 outside Flink)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FileOutcome:
        return cls(**json.loads(text))


def stage_week(
    settings: Settings,
    week: str,
    messages: pd.DataFrame,
    embedding_model: str,
    rows_per_file: int = 5000,
    now: datetime | None = None,
) -> Staged:
    """Replace the week's rows of ``ml.embedding_inputs`` with ``messages`` (columns ``source``,
    ``message_id``, ``text``, ``created_at``) that have no embedding by ``embedding_model`` yet, in
    files of at most ``rows_per_file`` rows. Nothing to embed leaves the week empty there."""
    parse_week(week)
    if rows_per_file < 1:
        raise ValueError(f"rows_per_file must be at least 1, not {rows_per_file}")
    messages = messages.reset_index(drop=True)
    keys = message_keys(messages).assign(created_at=pd.to_datetime(messages["created_at"], utc=True))
    todo = unstored(settings, keys, embedding_model)
    now = now or datetime.now(UTC)
    table = lake_catalog.ensure_table(lake_catalog.load(settings), ML_EMBEDDING_INPUTS.identifier)
    chunks = [_inputs_table(todo.iloc[i : i + rows_per_file], week, now) for i in range(0, len(todo), rows_per_file)]
    # one commit per file (an append writes one file per partition): the first replaces the week
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table = lake_catalog.replace_week(table, chunks[0] if chunks else _inputs_table(todo, week, now), week)
    for chunk in chunks[1:]:
        table = lake_catalog.append(table, chunk)
    return Staged(week=week, messages=len(messages), staged=len(todo), files=len(chunks))


def _inputs_table(rows: pd.DataFrame, week: str, now: datetime) -> pa.Table:
    schema = ML_EMBEDDING_INPUTS.arrow_schema
    n = len(rows)
    return pa.Table.from_arrays(
        [
            pa.array([week] * n, type=schema.field("week").type),
            pa.array(rows["source"].tolist(), type=schema.field("source").type),
            pa.array(rows["message_id"].tolist(), type=schema.field("message_id").type),
            pa.array(rows["text"].tolist(), type=schema.field("text").type),
            pa.array(pd.to_datetime(rows["created_at"], utc=True), type=schema.field("created_at").type),
            pa.array([now] * n, type=schema.field("staged_at").type),
        ],
        schema=schema,
    )


def plan_file_tasks(table: Table, week: str) -> list[FileTask]:
    """The week's staged data files as tasks, largest first (the longest tasks start first)."""
    parse_week(week)
    scan = table.scan(row_filter=EqualTo("week", week))
    snapshot = scan.snapshot()
    if snapshot is None:
        return []
    tasks = [
        FileTask(week=week, path=t.file.file_path, snapshot_id=snapshot.snapshot_id, records=int(t.file.record_count))
        for t in scan.plan_files()
    ]
    return sorted(tasks, key=lambda t: (-t.records, t.path))


def read_file_task(table: Table, task: FileTask) -> pd.DataFrame:
    """The staged rows of ``task``'s file (columns :data:`INPUT_COLUMNS`), read with pyiceberg at the
    snapshot the task was planned on (delete files and schema evolution applied like any scan)."""
    from pyiceberg.io.pyarrow import ArrowScan

    scan = table.scan(
        row_filter=EqualTo("week", task.week), selected_fields=INPUT_COLUMNS, snapshot_id=task.snapshot_id
    )
    planned = [t for t in scan.plan_files() if t.file.file_path == task.path]
    if not planned:
        raise ValueError(
            f"{task.path} is not a data file of {ML_EMBEDDING_INPUTS.identifier} week {task.week} "
            f"at snapshot {task.snapshot_id}"
        )
    arrow = ArrowScan(scan.table_metadata, scan.io, scan.projection(), scan.row_filter, scan.case_sensitive).to_table(
        planned
    )
    return arrow.to_pandas()[list(INPUT_COLUMNS)]


class EmbedWorker:
    """One subtask's embedder and catalog, opened once; :meth:`process` runs a :class:`FileTask`."""

    def __init__(self, settings: Settings, embedder, embedding_model: str, batch_size: int = 128) -> None:
        self.settings = settings
        self.embedder = embedder
        self.embedding_model = embedding_model
        self.batch_size = batch_size
        self._table: Table | None = None

    @classmethod
    def open(cls, config) -> EmbedWorker:
        """From a :class:`flink.jobconfig.EmbedJobConfig`: loads the embedder of ``config.embedder_module``."""
        module = importlib.import_module(config.embedder_module)
        embedder = (
            module.load_embedder(config.embedding_backend) if config.embedding_backend else module.load_embedder()
        )
        return cls(config.settings, embedder, config.embedding_model, config.batch_size)

    def _inputs(self, task: FileTask) -> Table:
        if self._table is None:
            self._table = lake_catalog.load(self.settings).load_table(ML_EMBEDDING_INPUTS.identifier)
        elif self._table.metadata.snapshot_by_id(task.snapshot_id) is None:
            self._table = self._table.refresh()  # staged after this worker opened
        return self._table

    def process(self, task: FileTask) -> FileOutcome:
        started = time.monotonic()
        frame = read_file_task(self._inputs(task), task)
        todo = unstored(self.settings, message_keys(frame), self.embedding_model)
        if len(todo):
            vectors = embed(self.embedder, todo["text"].tolist(), batch_size=self.batch_size)
            append_embeddings(self.settings, todo, vectors, self.embedding_model)
        return FileOutcome(
            path=task.path,
            rows=len(frame),
            embedded=len(todo),
            skipped=len(frame) - len(todo),
            seconds=round(time.monotonic() - started, 3),
        )
