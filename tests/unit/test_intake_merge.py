"""The intake's merger (services/intake_merge.py) against a small Kafka-protocol stand-in for Tansu that
answers Produce v3 at once: when a merged request goes (at once under the budget, else one per linger),
and the offsets each producer is told."""

from __future__ import annotations

import asyncio
import statistics
import time

from services import kafka_wire as wire
from services.intake_merge import Counters, Merger, Writers, read_frame
from services.intake_tail import Tails

EVENT = wire.Record(timestamp=1_700_000_000_000, rest=b"\x01\x02x\x00")  # no key, value b"x", no headers


async def _upstream(requests: list[list[tuple[str, int, int]]]) -> tuple[asyncio.Server, int]:
    """A stand-in broker: stores nothing, numbers each partition's records from 0, notes every request's
    (topic, partition, records)."""
    ends: dict[tuple[str, int], int] = {}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (frame := await read_frame(reader)) is not None:
            header = wire.request_header(frame)
            request = wire.parse_produce(frame, header)
            results, seen = [], []
            for p in request.partitions:
                count = len(wire.split_batches(p.records or b"") or [])
                base = ends.get((p.topic, p.partition), 0)
                ends[(p.topic, p.partition)] = base + count
                results.append(wire.PartitionResult(p.topic, p.partition, 0, base))
                seen.append((p.topic, p.partition, count))
            requests.append(seen)
            writer.write(wire.encode_produce_response(header.correlation_id, header.version, results))
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _send(at_once_per_s: float, events: int, gap_s: float, partitions: int = 1):
    requests: list[list[tuple[str, int, int]]] = []
    server, port = await _upstream(requests)
    counters = Counters()
    merger = Merger(("127.0.0.1", port), 0.05, counters, Tails(), Writers(), at_once_per_s)
    running = asyncio.create_task(merger.run())
    waits: list[float] = []
    told: list[tuple[int, int]] = []

    async def one(i: int) -> None:
        started = time.monotonic()
        code, offset = await merger.store("feedback.crm", i % partitions, [EVENT], 64)
        waits.append(time.monotonic() - started)
        assert code == 0
        told.append((i % partitions, offset))

    tasks = []
    for i in range(events):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(gap_s)
    await asyncio.gather(*tasks)
    running.cancel()
    if merger.link is not None:  # the stand-in's handler sees the link close and ends
        merger.link[1].close()
    await asyncio.sleep(0.05)
    server.close()
    await server.wait_closed()
    return waits, told, requests, counters


def test_below_the_budget_each_event_is_stored_at_once() -> None:
    waits, told, requests, _ = asyncio.run(_send(at_once_per_s=100, events=20, gap_s=0.02))
    assert statistics.median(waits) < 0.015, f"median wait {statistics.median(waits) * 1000:.0f} ms"
    assert len(requests) == 20  # one stored batch per event: nothing waited for company
    assert sorted(offset for _, offset in told) == list(range(20))


def test_without_a_budget_every_request_waits_for_the_linger() -> None:
    waits, told, requests, _ = asyncio.run(_send(at_once_per_s=0, events=20, gap_s=0.02))
    assert statistics.median(waits) >= 0.01, f"median wait {statistics.median(waits) * 1000:.0f} ms"
    assert len(requests) <= 14, f"{len(requests)} merged requests for 20 events 20 ms apart, 50 ms linger"
    assert sorted(offset for _, offset in told) == list(range(20))


def test_past_the_budget_the_stored_batches_are_capped_and_each_event_keeps_its_offset() -> None:
    # 200 events a second on 4 partitions for 1 s, a budget of 20 stored batches a second: past the first
    # spell, one merged request per 50 ms linger (at most 4 batches each)
    waits, told, requests, counters = asyncio.run(_send(at_once_per_s=20, events=200, gap_s=0.005, partitions=4))
    assert counters.stored_batches == sum(len(r) for r in requests)
    assert counters.stored_batches <= 150, f"{counters.stored_batches} stored batches for 200 events"
    assert len(requests) <= 60, f"{len(requests)} merged requests in ~1 s (at most ~20 at once, ~20 lingered)"
    for partition in range(4):  # each partition's events numbered 0.. in the order they were stored
        offsets = sorted(offset for p, offset in told if p == partition)
        assert offsets == list(range(50))
    assert max(waits) < 1.0
