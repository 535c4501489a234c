"""The intake's merger (:mod:`services.intake`): plain records gathered per partition and stored in Tansu as
one batch, one merged request at a time, at most one every ``linger``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import time
from dataclasses import dataclass

from services import kafka_wire as wire
from services.intake_tail import Tails

MAX_MERGED_BYTES = 1 << 20  # a merged request is sent at once past this size
# Below this many stored batches a second a merged request goes as soon as the one before is stored; past
# it (a stream of several hundred events a second), at most one every linger. ALLOWANCE_S: the spell of
# such batches that may go at once after a quiet one.
AT_ONCE_PER_S = 100.0
ALLOWANCE_S = 0.1
UPSTREAM_TIMEOUT_MS = 30_000


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@dataclass
class _Pending:
    records: list[wire.Record]
    done: asyncio.Future[tuple[int, int]]  # (error code, base offset)


@dataclass
class Counters:
    requests: int = 0
    merged_requests: int = 0
    stored_batches: int = 0
    passed: int = 0
    fetches_from_tail: int = 0


class Writers:
    """One produce request at a time per partition reaches Tansu, merged or passed through: its s3 storage
    fails one of two that reach a partition at once (``AlreadyExists``, which producers take as fatal).
    Locks are taken in sorted order and released when Tansu answers, so no two takers wait on each other."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def acquire(self, partitions: list[tuple[str, int]]) -> list[asyncio.Lock]:
        locks = [self._locks.setdefault(key, asyncio.Lock()) for key in sorted(set(partitions))]
        held: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                held.append(lock)
        except BaseException:  # cancelled while waiting: what it holds goes back
            self.release(held)
            raise
        return locks

    @staticmethod
    def release(locks: list[asyncio.Lock]) -> None:
        for lock in locks:
            lock.release()


class Merger:
    """Gathers plain records per partition and stores them in Tansu, one merged request at a time: at once
    while the stored batches stay under ``at_once_per_s`` (a token bucket), else one every ``linger_s``."""

    def __init__(
        self,
        upstream: tuple[str, int],
        linger_s: float,
        counters: Counters,
        tails: Tails,
        writers: Writers,
        at_once_per_s: float = AT_ONCE_PER_S,
    ) -> None:
        self.upstream, self.linger_s, self.counters, self.tails = upstream, linger_s, counters, tails
        self.writers = writers
        self.at_once_per_s = at_once_per_s
        self.allowance, self.refilled = at_once_per_s * ALLOWANCE_S, time.monotonic()
        self.pending: dict[tuple[str, int], list[_Pending]] = {}
        self.pending_bytes = 0
        self.last_flush = 0.0
        self.ready = asyncio.Event()
        self.full = asyncio.Event()
        self.link: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.correlation = 0

    async def store(self, topic: str, partition: int, records: list[wire.Record], size: int) -> tuple[int, int]:
        """Queue ``records`` for ``topic``/``partition``; returns (error code, offset of the first)."""
        if not records:
            return 0, -1
        done: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self.pending.setdefault((topic, partition), []).append(_Pending(records, done))
        self.pending_bytes += size
        self.ready.set()
        if self.pending_bytes >= MAX_MERGED_BYTES:
            self.full.set()
        return await done

    async def run(self) -> None:
        while True:
            await self.ready.wait()
            now = time.monotonic()
            self.allowance = min(
                self.at_once_per_s * ALLOWANCE_S, self.allowance + (now - self.refilled) * self.at_once_per_s
            )
            self.refilled = now
            wait = self.last_flush + self.linger_s - now
            if self.allowance < len(self.pending) and wait > 0 and not self.full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.full.wait(), wait)
            self.last_flush = time.monotonic()
            self.allowance = max(0.0, self.allowance - len(self.pending))
            taken, self.pending, self.pending_bytes = self.pending, {}, 0
            self.ready.clear()
            self.full.clear()
            await self._send(taken)

    async def _send(self, taken: dict[tuple[str, int], list[_Pending]]) -> None:
        locks = await self.writers.acquire(list(taken))
        try:
            batches = [
                wire.PartitionRecords(topic, partition, wire.merge_batch([r for p in entries for r in p.records]))
                for (topic, partition), entries in taken.items()
            ]
            answer = await asyncio.wait_for(self._produce(batches), UPSTREAM_TIMEOUT_MS / 1000 + 5)
            results = {(r.topic, r.partition): r for r in answer}
            self.counters.stored_batches += len(batches)
            for b in batches:
                if (result := results.get((b.topic, b.partition))) is not None and not result.error_code:
                    records, span, _ = wire.rebase(b.records or b"", result.base_offset)
                    self.tails.stored(b.topic, b.partition, result.base_offset, records, span)
        except Exception as exc:  # every producer waiting on this request must get an answer
            print(f"intake: storing {len(taken)} batches failed ({exc!r}); producers will retry", file=sys.stderr)
            self._close_link()
            self.tails.clear()  # what Tansu holds now is not known
            results = {}
        finally:
            self.writers.release(locks)
        for key, entries in taken.items():
            result = results.get(key)
            position = 0
            for p in entries:
                if result is None:
                    p.done.set_result((wire.REQUEST_TIMED_OUT, -1))
                elif result.error_code:
                    p.done.set_result((result.error_code, -1))
                else:
                    p.done.set_result((0, result.base_offset + position))
                position += len(p.records)

    async def _produce(self, batches: list[wire.PartitionRecords]) -> list[wire.PartitionResult]:
        if self.link is None:
            self.link = await asyncio.open_connection(*self.upstream)
            no_delay(self.link[1])
        reader, writer = self.link
        self.correlation = (self.correlation + 1) & 0x7FFFFFFF
        writer.write(wire.encode_produce(self.correlation, "reasonlake-intake", -1, UPSTREAM_TIMEOUT_MS, batches))
        await writer.drain()
        frame = await read_frame(reader)
        if frame is None:
            raise OSError("the broker closed the connection")
        return wire.parse_produce_response(frame[4:])

    def _close_link(self) -> None:
        if self.link is not None:
            self.link[1].close()
            self.link = None
