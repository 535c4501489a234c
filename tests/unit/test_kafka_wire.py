"""The intake's Kafka wire codec (services/kafka_wire.py): record batches, produce requests and answers,
and the two answers it rewrites."""

from __future__ import annotations

import struct

import pytest

from services import kafka_wire as wire


def _record(key: bytes, value: bytes, headers: list[tuple[bytes, bytes]] = ()) -> bytes:
    rest = wire._varint(len(key)) + key + wire._varint(len(value)) + value + wire._varint(len(headers))
    for k, v in headers:
        rest += wire._varint(len(k)) + k + wire._varint(len(v)) + v
    return rest


def test_merged_batch_holds_every_record_in_order_with_its_timestamp() -> None:
    first = wire.merge_batch([wire.Record(1_000, _record(b"k0", b"v0")), wire.Record(990, _record(b"k1", b"v1"))])
    second = wire.merge_batch([wire.Record(2_000, _record(b"k2", b"v2", [(b"h", b"x")]))])
    records = wire.split_batches(first + second)  # two batches in one partition's bytes
    assert records is not None
    assert [r.timestamp for r in records] == [1_000, 990, 2_000]
    assert [r.rest for r in records] == [
        _record(b"k0", b"v0"),
        _record(b"k1", b"v1"),
        _record(b"k2", b"v2", [(b"h", b"x")]),
    ]
    merged = wire.merge_batch(records)
    assert wire.split_batches(merged) == records
    base_offset, length, epoch, magic, crc = struct.unpack_from(">qiibI", merged)
    assert (base_offset, length, epoch, magic) == (0, len(merged) - 12, -1, 2)
    assert crc == wire._crc32c(merged[21:])
    assert struct.unpack_from(">i", merged, 23)[0] == 2  # last offset delta
    assert struct.unpack_from(">qq", merged, 27) == (1_000, 2_000)  # base and max timestamp
    assert struct.unpack_from(">i", merged, 57)[0] == 3


def test_crc32c_is_castagnoli() -> None:
    assert wire._crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C


@pytest.mark.parametrize(
    ("offset", "fmt", "value"),
    [(21, ">h", 1), (21, ">h", 0x10), (21, ">h", 0x20), (43, ">q", 7), (16, ">b", 1)],
    ids=["gzip", "transactional", "control", "idempotent", "magic-1"],
)
def test_batches_that_are_not_plain_pass_unchanged(offset: int, fmt: str, value: int) -> None:
    batch = bytearray(wire.merge_batch([wire.Record(1, _record(b"k", b"v"))]))
    struct.pack_into(fmt, batch, offset, value)
    assert wire.split_batches(bytes(batch)) is None


def test_a_truncated_batch_is_an_error() -> None:
    with pytest.raises(wire.WireError):
        wire.split_batches(wire.merge_batch([wire.Record(1, _record(b"k", b"v"))])[:40])


def test_produce_request_round_trip_and_answer_layouts() -> None:
    batch = wire.merge_batch([wire.Record(5, _record(b"", b"hello"))])
    parts = [wire.PartitionRecords("feedback.crm", 2, batch), wire.PartitionRecords("feedback.app", 0, batch)]
    frame = wire.encode_produce(42, "me", -1, 1500, parts)
    assert struct.unpack_from(">i", frame)[0] == len(frame) - 4
    header = wire.request_header(frame[4:])
    assert (header.api_key, header.version, header.correlation_id, header.client_id) == (wire.PRODUCE, 3, 42, "me")
    request = wire.parse_produce(frame[4:], header)
    assert (request.transactional_id, request.acks, request.timeout_ms, request.partitions) == (None, -1, 1500, parts)

    results = [wire.PartitionResult("feedback.crm", 2, 0, 17), wire.PartitionResult("feedback.app", 0, 6, -1)]
    v3 = wire.encode_produce_response(42, 3, results)
    assert struct.unpack_from(">ii", v3) == (len(v3) - 4, 42)
    assert wire.parse_produce_response(v3[8:-4]) == results  # less the throttle time
    v8 = wire.encode_produce_response(42, 8, results)
    per_partition = 4 + 2 + 8 + 8 + 8 + 4 + 2  # + log start offset, record errors, error message
    assert len(v8) - len(v3) == 2 * (per_partition - (4 + 2 + 8 + 8))


def _api_versions(flexible: bool, entries: list[tuple[int, int, int]]) -> bytes:
    out = struct.pack(">h", 0)
    out += bytes([len(entries) + 1]) if flexible else struct.pack(">i", len(entries))
    for key, lo, hi in entries:
        out += struct.pack(">hhh", key, lo, hi) + (b"\x00" if flexible else b"")
    return out + struct.pack(">i", 0) + (b"\x00" if flexible else b"")


@pytest.mark.parametrize("version", [0, 3])
def test_api_versions_are_clamped_to_the_encoded_ones(version: int) -> None:
    offered = [(wire.PRODUCE, 0, 11), (wire.FETCH, 0, 17), (wire.METADATA, 0, 12), (wire.FIND_COORDINATOR, 0, 6)]
    body = _api_versions(version >= 3, [*offered, (wire.API_VERSIONS, 0, 4), (19, 0, 7)])
    clamped = wire.clamp_api_versions(body, version)
    assert len(clamped) == len(body)
    expected = [(wire.PRODUCE, 0, 8), (wire.FETCH, 0, 11), (wire.METADATA, 0, 8), (wire.FIND_COORDINATOR, 0, 2)]
    assert clamped == _api_versions(version >= 3, [*expected, (wire.API_VERSIONS, 0, 4), (19, 0, 7)])


@pytest.mark.parametrize("version", [0, 1, 8])
def test_metadata_names_the_intake_and_keeps_the_rest(version: int) -> None:
    def body(host: str, port: int) -> bytes:
        out = struct.pack(">i", 0) if version >= 3 else b""
        out += struct.pack(">i", 1) + struct.pack(">i", 111) + wire.encode_string(host) + struct.pack(">i", port)
        out += wire.encode_string(None) if version >= 1 else b""
        return out + b"the topics, unchanged"

    assert wire.rewrite_metadata_brokers(body("127.0.0.1", 9092), version, "localhost", 40000) == body(
        "localhost", 40000
    )
    with pytest.raises(wire.WireError):
        wire.rewrite_metadata_brokers(body("h", 1), 9, "h", 1)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_the_coordinator_is_the_intake_too(version: int) -> None:
    def body(host: str, port: int) -> bytes:
        head = struct.pack(">i", 0) if version >= 1 else b""
        head += struct.pack(">h", 0) + (wire.encode_string(None) if version >= 1 else b"")
        return head + struct.pack(">i", 111) + wire.encode_string(host) + struct.pack(">i", port)

    assert wire.rewrite_coordinator(body("127.0.0.1", 9092), version, "intake.local", 40000) == body(
        "intake.local", 40000
    )
    with pytest.raises(wire.WireError):
        wire.rewrite_coordinator(body("h", 1), 3, "h", 1)


def test_produce_answers_of_every_encoded_version_read_back() -> None:
    results = [wire.PartitionResult("feedback.crm", 2, 0, 17), wire.PartitionResult("feedback.crm", 0, 6, -1)]
    for version in range(3, 9):
        frame = wire.encode_produce_response(9, version, results)
        assert wire.parse_produce_response(frame[8:], version) == results


def test_rebase_numbers_a_producers_batches_where_the_broker_stored_them() -> None:
    one = wire.merge_batch([wire.Record(1, _record(b"", b"a")), wire.Record(2, _record(b"", b"b"))])
    two = wire.merge_batch([wire.Record(3, _record(b"", b"c"))])
    rebased, span, transactional = wire.rebase(one + two, 40)
    assert (span, transactional) == (3, False)
    assert struct.unpack_from(">q", rebased)[0] == 40
    assert struct.unpack_from(">q", rebased, len(one))[0] == 42
    assert rebased[8:][: len(one) - 8] == one[8:] and wire.split_batches(rebased) == wire.split_batches(one + two)
    txn = bytearray(two)
    struct.pack_into(">h", txn, 21, 0x10)
    assert wire.rebase(bytes(txn), 7)[1:] == (1, True)
    with pytest.raises(wire.WireError):
        wire.rebase(b"\x00" * 70, 0)
