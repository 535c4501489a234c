"""The intake's tail: the record batches stored most recently, kept in memory to answer readers at once.

Tansu answers a fetch with nothing new only at the end of the reader's wait (so a steady stream reaches a
reader half a wait late on average), and on the ``s3`` storage it lists a partition's stored batches for
every fetch, which takes longer as the partition grows ("the starvation cliff", ``bench/RESULTS.md``).
A reader that keeps up asks for what was stored last: the intake saw it go by, so it answers from here,
and wakes the reader the moment a new batch is stored.

The tail of a partition is a run of batches at the exact offsets Tansu stored them at, contiguous from
``first`` to ``next``: the intake's own merged batches, what producers sent through it unmerged (unless
transactional, whose batches may be aborted), and the end of a partition where Tansu answered a reader
with nothing. A batch stored elsewhere than right after ``next`` (or right before ``first``: answers to
two producers may come back in either order) starts the tail again from it, and
anything the intake cannot follow (a transactional producer, deleted records or topics, a broker that
went away) forgets it. So the tail never answers for offsets it does not hold; a reader outside it, or
waiting at its end longer than ``probe_every_s``, is answered by Tansu (:mod:`services.intake`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field

from services.kafka_fetch import FetchedPartition, FetchRequest

TAIL_BYTES = 64 << 20  # of batches kept, all partitions together; the oldest of the largest go first
PROBE_EVERY_S = 2.0  # a reader waiting at the end of the tail is answered by Tansu at least this often


@dataclass
class _Partition:
    first: int
    next: int
    batches: deque[tuple[int, bytes]] = field(default_factory=deque)  # (base offset, batch bytes)
    size: int = 0


class Tails:
    def __init__(self, budget: int = TAIL_BYTES) -> None:
        self.budget = budget
        self.parts: dict[tuple[str, int], _Partition] = {}
        self.size = 0
        self._changed: asyncio.Event = asyncio.Event()

    def stored(self, topic: str, partition: int, base: int, records: bytes, span: int) -> None:
        """Tansu stored ``records`` (rebased, spanning ``span`` offsets) at ``base`` of ``topic``/``partition``."""
        key = (topic, partition)
        part = self.parts.get(key)
        if part is not None and base + span == part.first and part.batches:
            part.batches.appendleft((base, records))  # answered after a batch stored right behind it
            part.first = base
        else:
            if part is None or base != part.next:
                self.forget(topic, partition)
                part = self.parts[key] = _Partition(base, base)
            part.batches.append((base, records))
            part.next = base + span
        part.size += len(records)
        self.size += len(records)
        while self.size > self.budget:
            largest = max(self.parts.values(), key=lambda p: p.size)
            _, dropped = largest.batches.popleft()
            largest.size -= len(dropped)
            self.size -= len(dropped)
            largest.first = largest.batches[0][0] if largest.batches else largest.next
        self._wake()

    def ends_at(self, topic: str, partition: int, offset: int) -> None:
        """Tansu had nothing at ``offset`` and beyond: a tail of nothing there, unless one is already known."""
        if (topic, partition) not in self.parts:
            self.parts[(topic, partition)] = _Partition(offset, offset)

    def behind(self, topic: str, partition: int, high_watermark: int) -> None:
        """Tansu holds up to ``high_watermark``: a tail that ends before it missed batches, and starts again."""
        part = self.parts.get((topic, partition))
        if part is not None and part.next < high_watermark:
            self.forget(topic, partition)

    def forget(self, topic: str, partition: int) -> None:
        part = self.parts.pop((topic, partition), None)
        if part is not None:
            self.size -= part.size
            self._wake()

    def clear(self) -> None:
        self.parts.clear()
        self.size = 0
        self._wake()

    def answer(self, request: FetchRequest) -> list[FetchedPartition] | None:
        """What the tail holds for every partition of ``request``, or None when it does not cover them all."""
        out = []
        budget = request.max_bytes
        for p in request.partitions:
            part = self.parts.get((p.topic, p.partition))
            if part is None or not part.first <= p.offset <= part.next:
                return None
            records = self._read(part, p.offset, min(p.max_bytes, budget)) if budget > 0 else b""
            budget -= len(records)
            out.append(FetchedPartition(p.topic, p.partition, 0, part.next, records))
        return out

    @staticmethod
    def _read(part: _Partition, offset: int, max_bytes: int) -> bytes:
        """The batches from the one holding ``offset`` on, at least one and then up to ``max_bytes``."""
        if offset >= part.next:
            return b""
        i = len(part.batches) - 1
        while part.batches[i][0] > offset:  # readers at the tail ask for the last batches: scan from there
            i -= 1
        taken: list[bytes] = []
        size = 0
        for _, batch in itertools.islice(part.batches, i, None):
            if taken and size + len(batch) > max_bytes:
                break
            taken.append(batch)
            size += len(batch)
        return b"".join(taken)

    async def changed(self, timeout_s: float) -> None:
        """Returns when a tail changes or after ``timeout_s``."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
