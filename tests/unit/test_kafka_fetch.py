"""Fetch requests and answers v4–v11 (services/kafka_fetch.py), the layouts the intake's tail reads and writes."""

from __future__ import annotations

import struct

import pytest

from services import kafka_fetch as fetch
from services import kafka_wire as wire


def fetch_frame(version: int, parts: list[fetch.FetchPartition], wait_ms: int = 500, epoch: int = -1) -> bytes:
    """A consumer's ``Fetch`` request (without its length prefix), encoded after Kafka's protocol guide."""
    out = struct.pack(">hhi", wire.FETCH, version, 7) + wire.encode_string("reader")
    out += struct.pack(">iiiib", -1, wait_ms, 1, 50 << 20, 1)
    if version >= 7:
        out += struct.pack(">ii", 12 if epoch > 0 else 0, epoch)
    topics: dict[str, list[fetch.FetchPartition]] = {}
    for p in parts:
        topics.setdefault(p.topic, []).append(p)
    out += struct.pack(">i", len(topics))
    for topic, ps in topics.items():
        out += wire.encode_string(topic) + struct.pack(">i", len(ps))
        for p in ps:
            out += struct.pack(">i", p.partition) + (struct.pack(">i", 3) if version >= 9 else b"")
            out += struct.pack(">q", p.offset) + (struct.pack(">q", -1) if version >= 5 else b"")
            out += struct.pack(">i", p.max_bytes)
    if version >= 7:
        out += struct.pack(">i", 0)  # forgotten topics
    if version >= 11:
        out += wire.encode_string("")
    return out


PARTS = [
    fetch.FetchPartition("feedback.crm", 0, 17, 1 << 20),
    fetch.FetchPartition("feedback.crm", 2, 0, 1 << 20),
    fetch.FetchPartition("feedback.reviews", 1, 5, 4096),
]


@pytest.mark.parametrize("version", [4, 5, 7, 9, 11])
def test_a_consumers_fetch_reads_and_goes_on_without_a_session(version: int) -> None:
    frame = fetch_frame(version, PARTS, wait_ms=500, epoch=3 if version >= 7 else -1)
    request = fetch.parse_fetch(frame, wire.request_header(frame))
    assert (request.version, request.replica_id, request.max_wait_ms, request.max_bytes) == (version, -1, 500, 50 << 20)
    assert request.partitions == PARTS
    assert request.session_epoch == (3 if version >= 7 else fetch.FINAL_EPOCH)

    forwarded = fetch.sessionless(frame, request, 0)
    again = fetch.parse_fetch(forwarded, wire.request_header(forwarded))
    assert (again.max_wait_ms, again.session_epoch, again.partitions) == (0, fetch.FINAL_EPOCH, PARTS)
    assert len(forwarded) == len(frame)
    if version >= 7:
        assert struct.unpack_from(">i", forwarded, request.body_at + 17)[0] == 0  # no session id


def test_a_fetch_of_a_flexible_version_is_not_read() -> None:
    frame = fetch_frame(11, PARTS)
    header = wire.request_header(frame)
    with pytest.raises(wire.WireError):
        fetch.parse_fetch(frame, wire.RequestHeader(header.api_key, 12, 7, "reader", header.body_at))


@pytest.mark.parametrize("version", [4, 5, 7, 11])
def test_fetch_answers_read_back(version: int) -> None:
    batch = wire.rebase(wire.merge_batch([wire.Record(1, b"\x00\x02v\x00")]), 17)[0]
    parts = [
        fetch.FetchedPartition("feedback.crm", 0, 0, 18, batch),
        fetch.FetchedPartition("feedback.crm", 2, 0, 0, b""),
        fetch.FetchedPartition("feedback.reviews", 1, 1, -1, b""),
    ]
    frame = fetch.encode_fetch_response(7, version, parts)
    assert struct.unpack_from(">ii", frame) == (len(frame) - 4, 7)
    assert fetch.parse_fetch_response(frame[8:], version) == parts
