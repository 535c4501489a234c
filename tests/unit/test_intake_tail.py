"""The intake's tail (services/intake_tail.py): it answers only for offsets whose stored batches it holds."""

from __future__ import annotations

import asyncio
import time

from services import kafka_fetch as fetch
from services import kafka_wire as wire
from services.intake_tail import Tails


def batch(base: int, *values: bytes) -> bytes:
    records = [wire.Record(1_000 + i, b"\x00" + bytes([len(v) * 2]) + v + b"\x00") for i, v in enumerate(values)]
    return wire.rebase(wire.merge_batch(records), base)[0]


def request(*parts: tuple[str, int, int], max_bytes: int = 1 << 20) -> fetch.FetchRequest:
    asked = [fetch.FetchPartition(topic, p, offset, max_bytes) for topic, p, offset in parts]
    return fetch.FetchRequest(11, -1, 500, max_bytes, -1, asked, 0)


def offsets(records: bytes) -> list[int]:
    """The first offset of each batch in ``records``."""
    out, pos = [], 0
    while pos < len(records):
        out.append(int.from_bytes(records[pos : pos + 8], "big"))
        pos += 12 + int.from_bytes(records[pos + 8 : pos + 12], "big")
    return out


def test_the_tail_answers_from_the_batch_holding_the_offset_to_its_end() -> None:
    async def run() -> None:
        tails = Tails()
        tails.stored("t", 0, 10, batch(10, b"a", b"b"), 2)
        tails.stored("t", 0, 12, batch(12, b"c"), 1)
        (p,) = tails.answer(request(("t", 0, 11))) or []
        assert (p.high_watermark, offsets(p.records or b"")) == (13, [10, 12])
        (p,) = tails.answer(request(("t", 0, 12))) or []
        assert offsets(p.records or b"") == [12]
        (p,) = tails.answer(request(("t", 0, 13))) or []
        assert (p.high_watermark, p.records) == (13, b"")  # at the end: nothing yet
        assert tails.answer(request(("t", 0, 9))) is None  # before the tail: Tansu's
        assert tails.answer(request(("t", 0, 14))) is None  # past what the intake saw stored
        assert tails.answer(request(("t", 0, 12), ("t", 1, 0))) is None  # a partition it does not know

    asyncio.run(run())


def test_a_batch_stored_past_the_end_starts_the_tail_again() -> None:
    async def run() -> None:
        tails = Tails()
        tails.stored("t", 0, 0, batch(0, b"a"), 1)
        tails.stored("t", 0, 5, batch(5, b"f"), 1)  # offsets 1-4 went to Tansu some other way
        assert tails.answer(request(("t", 0, 1))) is None
        (p,) = tails.answer(request(("t", 0, 5))) or []
        assert offsets(p.records or b"") == [5]
        tails.ends_at("t", 0, 0)  # a stale "nothing here" does not replace what is known
        assert tails.answer(request(("t", 0, 0))) is None
        tails.ends_at("t", 3, 8)
        (p,) = tails.answer(request(("t", 3, 8))) or []
        assert (p.high_watermark, p.records) == (8, b"")
        tails.forget("t", 0)
        assert tails.answer(request(("t", 0, 6))) is None
        tails.clear()
        assert tails.answer(request(("t", 3, 8))) is None

    asyncio.run(run())


def test_the_tail_keeps_its_budget_dropping_the_oldest_of_the_largest() -> None:
    async def run() -> None:
        size = len(batch(0, b"x" * 100))
        tails = Tails(budget=3 * size)
        for offset in range(4):
            tails.stored("big", 0, offset, batch(offset, b"x" * 100), 1)
        assert tails.size <= 3 * size
        assert tails.answer(request(("big", 0, 0))) is None  # dropped
        (p,) = tails.answer(request(("big", 0, 1), max_bytes=size)) or []
        assert offsets(p.records or b"") == [1]  # at least one batch, then up to the partition's bytes

    asyncio.run(run())


def test_a_reader_waiting_at_the_end_wakes_when_a_batch_is_stored() -> None:
    async def run() -> float:
        tails = Tails()
        tails.ends_at("t", 0, 0)
        started = time.monotonic()
        waiting = asyncio.ensure_future(tails.changed(5.0))
        await asyncio.sleep(0.05)
        tails.stored("t", 0, 0, batch(0, b"a"), 1)
        await waiting
        return time.monotonic() - started

    assert asyncio.run(run()) < 1.0


def test_a_batch_answered_late_joins_the_tail_in_front_of_the_one_stored_after_it() -> None:
    async def run() -> None:
        tails = Tails()
        tails.stored("t", 0, 0, batch(0, b"a"), 1)
        tails.stored("t", 0, 3, batch(3, b"d"), 1)  # offsets 1-2 were passed through: not answered yet
        tails.stored("t", 0, 1, batch(1, b"b", b"c"), 2)
        (p,) = tails.answer(request(("t", 0, 1))) or []
        assert (p.high_watermark, offsets(p.records or b"")) == (4, [1, 3])
        assert tails.answer(request(("t", 0, 0))) is None  # started again at 3: what came before is Tansu's

    asyncio.run(run())


def test_a_tail_behind_what_tansu_holds_starts_again() -> None:
    async def run() -> None:
        tails = Tails()
        tails.ends_at("t", 0, 5)
        tails.behind("t", 0, 5)  # Tansu ends where the tail does: kept
        assert tails.answer(request(("t", 0, 5))) is not None
        tails.behind("t", 0, 7)  # two records went to Tansu past the intake: Tansu answers from now on
        assert tails.answer(request(("t", 0, 5))) is None

    asyncio.run(run())
