"""IcebergBatchSink on a real SQLite catalog: batching, offsets in both tables, idempotent replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from flink.contract import KafkaEnvelope, Outcome, validate
from flink.jobconfig import BatchPolicy
from flink.progress import ProgressReporter, read_progress
from flink.sink import IcebergBatchSink, start_offsets
from lake import catalog as lake_catalog

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
RAW, REJECTED = "raw.feedback", "raw.feedback_rejected"


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def outcome(topic: str, partition: int, offset: int, valid: bool = True) -> Outcome:
    source = topic.split(".", 1)[1]
    value = (
        json.dumps(
            {
                "message_id": f"{topic}-{partition}-{offset}",
                "source": source,
                "text": "slow support",
                "created_at": "2026-03-09T08:00:00Z",
            }
        ).encode()
        if valid
        else b"garbage"
    )
    return validate(KafkaEnvelope(topic, partition, offset, 1_773_000_000_000, value), NOW)


def batch(
    n: int, topic: str = "feedback.crm", partition: int = 0, invalid_every: int = 0, start: int = 0
) -> list[Outcome]:
    return [
        outcome(topic, partition, o, valid=not (invalid_every and o % invalid_every == 0))
        for o in range(start, start + n)
    ]


def rows(cat, identifier: str) -> list[dict]:
    return lake_catalog.read(cat, identifier).to_pylist()


@pytest.fixture
def cat(settings):
    return lake_catalog.load(settings)


def test_flushes_at_batch_size_or_interval(cat) -> None:
    clock = Clock()
    sink = IcebergBatchSink(cat, BatchPolicy(batch_size=3, flush_interval_s=5), clock=clock)
    assert not sink.due() and sink.deadline() is None
    sink.add_all(batch(2))
    assert sink.pending == 2 and not sink.due() and sink.deadline() == 1_005.0
    sink.add_all(batch(1, start=2))
    assert sink.due()
    assert sink.flush() == 3 and sink.pending == 0 and not sink.due()
    assert len(rows(cat, RAW)) == 3

    sink.add_all(batch(1, start=3))
    clock.t += 4.9
    assert not sink.due()
    clock.t += 0.1
    assert sink.due()
    sink.flush()
    assert sorted(r["kafka_offset"] for r in rows(cat, RAW)) == [0, 1, 2, 3]


def test_rows_are_stamped_and_split_by_outcome(cat) -> None:
    clock = Clock(1_773_100_000.0)
    sink = IcebergBatchSink(cat, clock=clock)
    sink.add_all(batch(6, invalid_every=3))  # offsets 0 and 3 invalid
    sink.flush()
    raw, rejected = rows(cat, RAW), rows(cat, REJECTED)
    assert sorted(r["kafka_offset"] for r in raw) == [1, 2, 4, 5]
    assert sorted(r["kafka_offset"] for r in rejected) == [0, 3]
    assert {r["ingested_at"] for r in raw} == {datetime.fromtimestamp(clock.t, tz=UTC)}
    assert {r["rejected_at"] for r in rejected} == {datetime.fromtimestamp(clock.t, tz=UTC)}
    assert {r["reason"] for r in rejected} == {"not_json"} and rejected[0]["raw_value"] == b"garbage"
    assert sink.counts == {"accepted": 4, "rejected": 2}


def test_offsets_recorded_in_both_tables(cat) -> None:
    sink = IcebergBatchSink(cat)
    # crm/0 has only valid records, app/1 only invalid ones: both tables still get both offsets
    sink.add_all(batch(4, "feedback.crm", 0) + batch(3, "feedback.app", 1, invalid_every=1))
    sink.flush()
    expected = {("feedback.crm", 0): 3, ("feedback.app", 1): 2}
    assert sink.committed(RAW) == expected and sink.committed(REJECTED) == expected
    for identifier in (RAW, REJECTED):
        assert lake_catalog.committed_offsets(cat.load_table(identifier)) == expected
    assert start_offsets(cat) == {("feedback.crm", 0): 4, ("feedback.app", 1): 3}


def test_replay_adds_nothing_and_new_records_still_land(cat) -> None:
    first = IcebergBatchSink(cat)
    first.add_all(batch(10, invalid_every=4))
    first.flush()
    before = (len(rows(cat, RAW)), len(rows(cat, REJECTED)))

    again = IcebergBatchSink(cat)  # a restarted job re-reads the committed offsets
    assert again.add_all(batch(10, invalid_every=4)) == 0
    assert again.duplicates_skipped == 10 and again.counts == {}
    again.flush()
    assert (len(rows(cat, RAW)), len(rows(cat, REJECTED))) == before

    assert again.add_all(batch(15, invalid_every=4)) == 5  # offsets 10..14 are new
    again.flush()
    offsets = sorted(r["kafka_offset"] for r in rows(cat, RAW) + rows(cat, REJECTED))
    assert offsets == list(range(15))


def test_crash_between_the_two_commits_is_repaired_on_replay(cat, monkeypatch) -> None:
    sink = IcebergBatchSink(cat)
    sink.add_all(batch(6, invalid_every=2))
    rejected_buffer = sink._tables[REJECTED]
    monkeypatch.setattr(rejected_buffer, "commit", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        sink.flush()
    assert len(rows(cat, RAW)) == 3 and rows(cat, REJECTED) == []
    # the rejected table does not cover the partition: the job resumes from EARLIEST for it
    assert start_offsets(cat) == {}

    replay = IcebergBatchSink(cat)
    replay.add_all(batch(6, invalid_every=2))
    replay.flush()
    assert sorted(r["kafka_offset"] for r in rows(cat, RAW)) == [1, 3, 5]
    assert sorted(r["kafka_offset"] for r in rows(cat, REJECTED)) == [0, 2, 4]
    assert replay.duplicates_skipped == 3
    assert start_offsets(cat) == {("feedback.crm", 0): 6}


def test_start_offsets_take_the_lagging_table(cat) -> None:
    lake_catalog.append(
        lake_catalog.ensure_table(cat, RAW),
        lake_catalog.to_arrow(RAW, []),
        offsets={("feedback.crm", 0): 9, ("feedback.crm", 1): 4, ("feedback.app", 0): 2},
    )
    lake_catalog.append(
        lake_catalog.ensure_table(cat, REJECTED),
        lake_catalog.to_arrow(REJECTED, []),
        offsets={("feedback.crm", 0): 7, ("feedback.crm", 1): 4},
    )
    assert start_offsets(cat) == {("feedback.crm", 0): 8, ("feedback.crm", 1): 5}


def test_progress_file_follows_the_sink(cat, settings) -> None:
    clock = Clock(50.0)
    folder = settings.run_dir / "ingest"
    reporter = ProgressReporter(folder, "run-1", subtask=0, clock=clock)
    sink = IcebergBatchSink(cat, reporter=reporter, clock=clock)
    [p] = read_progress(folder, "run-1")
    assert (p.pending, p.records_seen, p.last_record_at) == (0, 0, None)

    sink.add_all(batch(3, invalid_every=3))
    [p] = read_progress(folder, "run-1")
    assert p.pending >= 1 and p.last_record_at == 50.0  # the first pending record is reported at once

    clock.t = 52.0
    sink.add_all(batch(1, start=3))
    sink.flush()  # every commit is reported
    [p] = read_progress(folder, "run-1")
    assert (p.pending, p.records_seen, dict(p.counts)) == (0, 4, {"accepted": 3, "rejected": 1})
    assert p.last_record_at == 52.0
    assert read_progress(folder, "another-run") == []
