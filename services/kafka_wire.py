"""The few parts of the Kafka wire protocol the intake (:mod:`services.intake`) reads and writes.

Only what merging single-event produce requests needs, after Kafka's protocol guide
(https://kafka.apache.org/protocol) and its record format (https://kafka.apache.org/documentation/#recordbatch):

* request headers (v1, v2): api key, version, correlation id, client id;
* ``ApiVersions`` responses: the highest ``Produce`` and ``Metadata`` versions clamped in place to the last
  non-flexible ones (8), which this module encodes;
* ``Metadata`` responses v0–v8 and ``FindCoordinator`` responses v0–v2: the brokers' host and port
  replaced, so a client stays on the intake;
* ``Produce`` requests and responses v3–v8;
* record batches (magic 2): plain ones (no compression, no producer id, no transaction) split into their
  records and merged into one batch with a new CRC-32C.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import crcmod.predefined

PRODUCE, FETCH, METADATA, FIND_COORDINATOR, API_VERSIONS = 0, 1, 3, 10, 18
# the last versions before flexible encoding (KIP-482); Fetch's codec is services/kafka_fetch.py
MAX_VERSION = {PRODUCE: 8, FETCH: 11, METADATA: 8, FIND_COORDINATOR: 2}
MERGEABLE_PRODUCE = range(3, 9)  # Produce versions with magic-2 record batches and a known layout
BATCH_HEADER = 61  # bytes of a record batch before its records
# attribute bits that make a batch unmergeable: compression (0-2), log-append time (3), transaction (4), control (5)
_SPECIAL_ATTRIBUTES = 0x3F
REQUEST_TIMED_OUT = 7  # a retriable error: the producer sends again

_crc32c = crcmod.predefined.mkCrcFun("crc-32c")


class WireError(ValueError):
    """Bytes that do not follow the layout this module knows."""


class Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def string(self) -> str | None:
        n = self.take(">h")
        return None if n < 0 else self.raw(n).decode()

    def bytes_(self) -> bytes | None:
        n = self.take(">i")
        return None if n < 0 else self.raw(n)

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            b = self.raw(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def varint(self) -> int:
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)


def encode_string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _varint(v: int) -> bytes:
    u = (v << 1) ^ (v >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


@dataclass(frozen=True)
class RequestHeader:
    api_key: int
    version: int
    correlation_id: int
    client_id: str | None
    body_at: int  # where the body starts (header v1: after the client id)


def request_header(frame: bytes) -> RequestHeader:
    """The header of a request frame (without its length prefix)."""
    r = Reader(frame)
    api_key, version, corr = r.take(">h"), r.take(">h"), r.take(">i")
    client_id = r.string()
    return RequestHeader(api_key, version, corr, client_id, r.pos)


def clamp_api_versions(body: bytes, version: int) -> bytes:
    """An ``ApiVersions`` response body with Produce's and Metadata's highest versions lowered to
    :data:`MAX_VERSION` (same length: the int16 fields are rewritten where they stand)."""
    out = bytearray(body)
    r = Reader(body)
    r.take(">h")  # error code
    flexible = version >= 3
    count = r.uvarint() - 1 if flexible else r.take(">i")
    for _ in range(max(count, 0)):
        key, _lo, hi_at = r.take(">h"), r.take(">h"), r.pos
        hi = r.take(">h")
        if key in MAX_VERSION and hi > MAX_VERSION[key]:
            struct.pack_into(">h", out, hi_at, MAX_VERSION[key])
        if flexible:
            for _tag in range(r.uvarint()):
                r.uvarint()
                r.raw(r.uvarint())
    return bytes(out)


def rewrite_metadata_brokers(body: bytes, version: int, host: str, port: int) -> bytes:
    """A ``Metadata`` response body (v0–v8) whose brokers all answer at ``host:port``."""
    if version > MAX_VERSION[METADATA]:
        raise WireError(f"Metadata v{version} is flexible; the intake offers up to v{MAX_VERSION[METADATA]}")
    r = Reader(body)
    head = r.raw(4) if version >= 3 else b""  # throttle time
    count = r.take(">i")
    brokers = [struct.pack(">i", count)]
    for _ in range(count):
        node_id = r.take(">i")
        r.string()
        r.take(">i")
        rack = encode_string(r.string()) if version >= 1 else b""
        brokers.append(struct.pack(">i", node_id) + encode_string(host) + struct.pack(">i", port) + rack)
    return head + b"".join(brokers) + body[r.pos :]


def rewrite_coordinator(body: bytes, version: int, host: str, port: int) -> bytes:
    """A ``FindCoordinator`` response body (v0–v2) whose coordinator answers at ``host:port``: a client that
    keys brokers by node id would otherwise move its link to that broker off the intake."""
    if version > MAX_VERSION[FIND_COORDINATOR]:
        raise WireError(f"FindCoordinator v{version} is flexible; the intake offers up to v2")
    r = Reader(body)
    if version >= 1:
        r.take(">i")  # throttle time
    r.take(">h")
    if version >= 1:
        r.string()  # error message
    node_at = r.pos
    r.take(">i")
    r.string()
    r.take(">i")
    return body[: node_at + 4] + encode_string(host) + struct.pack(">i", port) + body[r.pos :]


@dataclass(frozen=True)
class PartitionRecords:
    topic: str
    partition: int
    records: bytes | None


@dataclass(frozen=True)
class ProduceRequest:
    transactional_id: str | None
    acks: int
    timeout_ms: int
    partitions: list[PartitionRecords]


def parse_produce(frame: bytes, header: RequestHeader) -> ProduceRequest:
    """The body of a ``Produce`` request of a version in :data:`MERGEABLE_PRODUCE`."""
    r = Reader(frame, header.body_at)
    txn, acks, timeout = r.string(), r.take(">h"), r.take(">i")
    parts = []
    for _ in range(r.take(">i")):
        topic = r.string() or ""
        for _ in range(r.take(">i")):
            index = r.take(">i")
            parts.append(PartitionRecords(topic, index, r.bytes_()))
    return ProduceRequest(txn, acks, timeout, parts)


def encode_produce(
    correlation_id: int, client_id: str, acks: int, timeout_ms: int, batches: list[PartitionRecords]
) -> bytes:
    """A ``Produce`` v3 request frame (with its length prefix)."""
    by_topic: dict[str, list[PartitionRecords]] = {}
    for b in batches:
        by_topic.setdefault(b.topic, []).append(b)
    body = [struct.pack(">hhi", PRODUCE, 3, correlation_id), encode_string(client_id), encode_string(None)]
    body.append(struct.pack(">hii", acks, timeout_ms, len(by_topic)))
    for topic, parts in by_topic.items():
        body.append(encode_string(topic) + struct.pack(">i", len(parts)))
        for p in parts:
            records = p.records or b""
            body.append(struct.pack(">ii", p.partition, len(records)) + records)
    frame = b"".join(body)
    return struct.pack(">i", len(frame)) + frame


@dataclass(frozen=True)
class PartitionResult:
    topic: str
    partition: int
    error_code: int
    base_offset: int
    log_append_time: int = -1


def parse_produce_response(body: bytes, version: int = 3) -> list[PartitionResult]:
    """The partitions of a ``Produce`` response body (v3–v8, after the correlation id)."""
    r = Reader(body)
    out = []
    for _ in range(r.take(">i")):
        topic = r.string() or ""
        for _ in range(r.take(">i")):
            out.append(PartitionResult(topic, r.take(">i"), r.take(">h"), r.take(">q"), r.take(">q")))
            if version >= 5:
                r.take(">q")  # log start offset
            if version >= 8:
                for _error in range(r.take(">i")):
                    r.take(">i")
                    r.string()
                r.string()
    return out


def encode_produce_response(correlation_id: int, version: int, results: list[PartitionResult]) -> bytes:
    """A ``Produce`` response frame (v3–v8, with its length prefix) for the given partitions."""
    by_topic: dict[str, list[PartitionResult]] = {}
    for res in results:
        by_topic.setdefault(res.topic, []).append(res)
    out = [struct.pack(">ii", correlation_id, len(by_topic))]
    for topic, parts in by_topic.items():
        out.append(encode_string(topic) + struct.pack(">i", len(parts)))
        for p in parts:
            out.append(struct.pack(">ihqq", p.partition, p.error_code, p.base_offset, p.log_append_time))
            if version >= 5:
                out.append(struct.pack(">q", -1))  # log start offset: unknown here
            if version >= 8:
                out.append(struct.pack(">i", 0) + encode_string(None))  # no record errors, no message
    out.append(struct.pack(">i", 0))  # throttle time
    frame = b"".join(out)
    return struct.pack(">i", len(frame)) + frame


@dataclass(frozen=True)
class Record:
    timestamp: int  # absolute, ms
    rest: bytes  # key, value and headers, as they were encoded


def split_batches(records: bytes) -> list[Record] | None:
    """The records of one or more plain record batches, or None when any batch is not plain (compressed,
    idempotent, transactional, control, log-append time or an older magic) and must pass unchanged."""
    out: list[Record] = []
    pos = 0
    while pos < len(records):
        if len(records) - pos < BATCH_HEADER:
            raise WireError("truncated record batch")
        (length,) = struct.unpack_from(">i", records, pos + 8)
        end = pos + 12 + length
        magic = records[pos + 16]
        attributes, _last, base_ts, _max_ts, producer_id = struct.unpack_from(">hiqqq", records, pos + 21)
        if magic != 2 or attributes & _SPECIAL_ATTRIBUTES or producer_id != -1:
            return None
        (count,) = struct.unpack_from(">i", records, pos + 57)
        r = Reader(records[:end], pos + BATCH_HEADER)
        for _ in range(count):
            size = r.varint()
            record_end = r.pos + size
            r.raw(1)  # attributes (unused in magic 2)
            ts_delta = r.varint()
            r.varint()  # offset delta: renumbered when merged
            out.append(Record(base_ts + ts_delta, r.raw(record_end - r.pos)))
        pos = end
    return out


def rebase(records: bytes, base_offset: int) -> tuple[bytes, int, bool]:
    """``records`` (one or more record batches of magic 2, as a producer sent them) numbered from
    ``base_offset`` as the broker stored them, the offsets they span, and whether any is transactional or a
    control batch. Only the base offsets change: a batch's CRC does not cover them."""
    out = bytearray(records)
    pos, span, transactional = 0, 0, False
    while pos < len(out):
        if len(out) - pos < BATCH_HEADER or out[pos + 16] != 2:
            raise WireError("not a record batch of magic 2")
        (length,) = struct.unpack_from(">i", out, pos + 8)
        attributes, last_delta = struct.unpack_from(">hi", out, pos + 21)
        struct.pack_into(">q", out, pos, base_offset + span)
        transactional |= bool(attributes & 0x30)
        span += last_delta + 1
        pos += 12 + length
    return bytes(out), span, transactional


def merge_batch(records: list[Record]) -> bytes:
    """One plain record batch (magic 2, base offset 0, CRC-32C) holding ``records`` in order."""
    base_ts = records[0].timestamp
    encoded = []
    for i, rec in enumerate(records):
        inner = b"\x00" + _varint(rec.timestamp - base_ts) + _varint(i) + rec.rest
        encoded.append(_varint(len(inner)) + inner)
    max_ts = max(r.timestamp for r in records)
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_ts, max_ts, -1, -1, -1, len(records))
    after_crc += b"".join(encoded)
    crc = _crc32c(after_crc)
    length = 4 + 1 + 4 + len(after_crc)  # leader epoch, magic, crc, then the rest
    return struct.pack(">qiibI", 0, length, -1, 2, crc) + after_crc
