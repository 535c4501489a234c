"""A table committed to every few seconds for weeks: its history stays bounded as it commits, so its
commits stay as fast as on its first day (pyiceberg copies every snapshot in the metadata on each one)."""

from __future__ import annotations

from collections import Counter

import pytest

from flink.jobconfig import BatchPolicy
from flink.sink import IcebergBatchSink, start_offsets
from lake import catalog as lake_catalog
from lake.catalog import HISTORY_KEPT, HISTORY_MAX
from tests.integration.test_maintenance import outcomes

pytestmark = pytest.mark.slow


def test_an_ingest_that_commits_past_the_history_limit_keeps_its_rows_offsets_and_few_manifests(settings):
    cat = lake_catalog.load(settings)
    sink = IcebergBatchSink(cat, BatchPolicy(batch_size=10_000))
    counts = []
    commits = HISTORY_MAX + 30
    for c in range(commits):
        sink.add_all(outcomes(c * 2, 2))  # one accepted record and, every 7th offset, a rejected one
        sink.flush()
        counts.append(len(cat.load_table("raw.feedback").metadata.snapshots))
    table = cat.load_table("raw.feedback")
    # the history grew to its limit, was cut back to what is kept, and grew again: never past the limit
    assert max(counts) == HISTORY_MAX and counts[HISTORY_MAX] == HISTORY_KEPT
    assert len(table.metadata.snapshots) <= HISTORY_MAX
    # every record is there once, and the Kafka offsets (table properties) are untouched by the trims
    rows = lake_catalog.read(cat, "raw.feedback").to_pylist()
    expected = [o for o in range(commits * 2) if o % 7]
    assert sorted(r["kafka_offset"] for r in rows) == expected
    assert Counter(r["kafka_offset"] for r in rows).most_common(1)[0][1] == 1
    assert start_offsets(cat)[("feedback.crm", 0)] == commits * 2 - 1  # after the last even offset
    # manifests are merged once there are 100 of them: a commit or a scan reads a bounded number
    assert len(table.current_snapshot().manifests(table.io)) <= 100


@pytest.mark.parametrize(
    "failure",
    [
        lake_catalog.CommitConflictError("raw.feedback: history trim still conflicting after 3 attempts"),
        OSError(28, "No space left on device"),
    ],
    ids=["beaten", "disk-full"],
)
def test_a_trim_that_cannot_commit_is_left_to_the_next_commit(settings, monkeypatch, failure):
    """The commit before it has gone through: a trim that other writers keep beating, or that meets a full
    disk, must not fail the writer."""
    cat = lake_catalog.load(settings)
    sink = IcebergBatchSink(cat, BatchPolicy(batch_size=10_000))
    monkeypatch.setattr(lake_catalog, "HISTORY_MAX", 3)

    def beaten(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(lake_catalog, "expire_attempt", lambda *_: beaten)
    for c in range(6):
        sink.add_all(outcomes(c * 7 + 1, 6))  # offsets never a multiple of 7: all accepted
        sink.flush()
    assert len(lake_catalog.read(cat, "raw.feedback")) == 36
    assert len(cat.load_table("raw.feedback").metadata.snapshots) == 6
