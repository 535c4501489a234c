"""``Fetch`` requests and responses v4–v11 (the last before flexible encoding), for the intake's tail
(:mod:`services.intake_tail`). After Kafka's protocol guide (https://kafka.apache.org/protocol).

Pure: bytes in, bytes out. The other message layouts the intake reads are in :mod:`services.kafka_wire`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from services.kafka_wire import FETCH, MAX_VERSION, Reader, RequestHeader, WireError, encode_string

SERVED_FETCH = range(4, MAX_VERSION[FETCH] + 1)  # read committed (v4) up to the last non-flexible version
FINAL_EPOCH = -1  # a fetch session's epoch meaning "no session: a full fetch" (KIP-227)


@dataclass(frozen=True)
class FetchPartition:
    topic: str
    partition: int
    offset: int
    max_bytes: int


@dataclass(frozen=True)
class FetchRequest:
    version: int
    replica_id: int
    max_wait_ms: int
    max_bytes: int
    session_epoch: int  # FINAL_EPOCH before v7
    partitions: list[FetchPartition]
    body_at: int  # where the body starts in the frame: max wait at +4, session id and epoch at +17 (v7+)


def parse_fetch(frame: bytes, header: RequestHeader) -> FetchRequest:
    """The body of a ``Fetch`` request of a version in :data:`SERVED_FETCH`."""
    if header.version not in SERVED_FETCH:
        raise WireError(f"Fetch v{header.version} is not one this module reads")
    v = header.version
    r = Reader(frame, header.body_at)
    replica, wait, _min_bytes, max_bytes = r.take(">i"), r.take(">i"), r.take(">i"), r.take(">i")
    r.take(">b")  # isolation level: the tail holds no transactional batch, so both read the same
    epoch = FINAL_EPOCH
    if v >= 7:
        r.take(">i")  # session id
        epoch = r.take(">i")
    parts = []
    for _ in range(r.take(">i")):
        topic = r.string() or ""
        for _ in range(r.take(">i")):
            index = r.take(">i")
            if v >= 9:
                r.take(">i")  # current leader epoch
            offset = r.take(">q")
            if v >= 5:
                r.take(">q")  # the follower's log start offset
            parts.append(FetchPartition(topic, index, offset, r.take(">i")))
    return FetchRequest(v, replica, wait, max_bytes, epoch, parts, header.body_at)


def sessionless(frame: bytes, request: FetchRequest, max_wait_ms: int) -> bytes:
    """``frame`` (without its length prefix) as a full fetch outside any session, waiting at most
    ``max_wait_ms``: so the broker answers every partition every time, as the tail does."""
    out = bytearray(frame)
    struct.pack_into(">i", out, request.body_at + 4, max_wait_ms)
    if request.version >= 7:
        struct.pack_into(">ii", out, request.body_at + 17, 0, FINAL_EPOCH)
    return bytes(out)


@dataclass(frozen=True)
class FetchedPartition:
    topic: str
    partition: int
    error_code: int
    high_watermark: int
    records: bytes | None


def encode_fetch_response(correlation_id: int, version: int, parts: list[FetchedPartition]) -> bytes:
    """A ``Fetch`` response frame (v4–v11, with its length prefix): no session, no aborted transaction,
    the last stable offset at the high watermark, the log start offset unknown (-1)."""
    by_topic: dict[str, list[FetchedPartition]] = {}
    for p in parts:
        by_topic.setdefault(p.topic, []).append(p)
    out = [struct.pack(">ii", correlation_id, 0)]  # throttle time
    if version >= 7:
        out.append(struct.pack(">hi", 0, 0))  # error code, session id
    out.append(struct.pack(">i", len(by_topic)))
    for topic, ps in by_topic.items():
        out.append(encode_string(topic) + struct.pack(">i", len(ps)))
        for p in ps:
            out.append(struct.pack(">ihqq", p.partition, p.error_code, p.high_watermark, p.high_watermark))
            if version >= 5:
                out.append(struct.pack(">q", -1))
            out.append(struct.pack(">i", -1))  # aborted transactions: none
            if version >= 11:
                out.append(struct.pack(">i", -1))  # preferred read replica: none
            records = p.records or b""
            out.append(struct.pack(">i", len(records)) + records)
    frame = b"".join(out)
    return struct.pack(">i", len(frame)) + frame


def parse_fetch_response(body: bytes, version: int) -> list[FetchedPartition]:
    """The partitions of a ``Fetch`` response body (v4–v11, after the correlation id)."""
    r = Reader(body)
    r.take(">i")  # throttle time
    if version >= 7:
        r.take(">h")
        r.take(">i")
    out = []
    for _ in range(r.take(">i")):
        topic = r.string() or ""
        for _ in range(r.take(">i")):
            index, error, high = r.take(">i"), r.take(">h"), r.take(">q")
            r.take(">q")  # last stable offset
            if version >= 5:
                r.take(">q")
            for _aborted in range(max(r.take(">i"), 0)):
                r.raw(16)
            if version >= 11:
                r.take(">i")
            out.append(FetchedPartition(topic, index, error, high, r.bytes_()))
    return out
