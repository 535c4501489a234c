"""The broker's intake: a Kafka-protocol front that merges single-event produce requests into batches.

Platforms send events one at a time; on the embedded broker's ``s3`` storage each produce batch is one
stored object, so a steady stream of one-event requests costs an object write (and later an object read)
per event, which the local S3 server cannot follow past a few hundred a second (``bench/RESULTS.md``,
"Broker"). The intake takes the producers' connections (``services.broker.intake_servers``) and, for each
partition, gathers the plain record batches that arrive into one batch, which it produces to Tansu with
``acks=all``: it stores at most one merged request every ``linger`` (and one at a time: what arrives while
one is being stored waits for the next), so an event after a quiet spell goes at once, and under load each
partition gets one stored batch per ``linger`` however many events arrive.

* A producer's request is answered only after Tansu stored the merged batch, with the offset its records
  got there: nothing is acknowledged that is not stored. If Tansu fails or is unreachable the answer is a
  retriable error (``REQUEST_TIMED_OUT``) and the producer sends again.
* Per partition, records keep the order in which their requests reached the intake.
* What it does not merge passes through unchanged on the connection's own link to Tansu: every other
  request, and produce requests with compressed, idempotent or transactional batches. ``ApiVersions``
  answers are clamped to the protocol versions :mod:`services.kafka_wire` encodes, and ``Metadata`` answers
  name the intake as the broker, so producers stay on it.

Run by :func:`services.broker.start` as ``python -m services.intake``; consumers talk to Tansu directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from services import kafka_wire as wire

MAX_MERGED_BYTES = 1 << 20  # a merged request is sent at once past this size
UPSTREAM_TIMEOUT_MS = 30_000
REPORT_EVERY_S = 60.0


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def _no_delay(writer: asyncio.StreamWriter) -> None:
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


class Merger:
    """Gathers plain records per partition and stores them in Tansu, one merged request at a time."""

    def __init__(self, upstream: tuple[str, int], linger_s: float, counters: Counters) -> None:
        self.upstream, self.linger_s, self.counters = upstream, linger_s, counters
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
            wait = self.last_flush + self.linger_s - time.monotonic()
            if wait > 0 and not self.full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.full.wait(), wait)
            self.last_flush = time.monotonic()
            taken, self.pending, self.pending_bytes = self.pending, {}, 0
            self.ready.clear()
            self.full.clear()
            await self._send(taken)

    async def _send(self, taken: dict[tuple[str, int], list[_Pending]]) -> None:
        try:
            batches = [
                wire.PartitionRecords(topic, partition, wire.merge_batch([r for p in entries for r in p.records]))
                for (topic, partition), entries in taken.items()
            ]
            answer = await asyncio.wait_for(self._produce(batches), UPSTREAM_TIMEOUT_MS / 1000 + 5)
            results = {(r.topic, r.partition): r for r in answer}
            self.counters.stored_batches += len(batches)
        except Exception as exc:  # every producer waiting on this request must get an answer
            print(f"intake: storing {len(taken)} batches failed ({exc!r}); producers will retry", file=sys.stderr)
            self._close_link()
            results = {}
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
            _no_delay(self.link[1])
        reader, writer = self.link
        self.correlation = (self.correlation + 1) & 0x7FFFFFFF
        writer.write(wire.encode_produce(self.correlation, "reasonlake-intake", -1, UPSTREAM_TIMEOUT_MS, batches))
        await writer.drain()
        frame = await _read_frame(reader)
        if frame is None:
            raise OSError("the broker closed the connection")
        return wire.parse_produce_v3_response(frame[4:])

    def _close_link(self) -> None:
        if self.link is not None:
            self.link[1].close()
            self.link = None


@dataclass
class _Passthrough:
    """One producer connection's own link to Tansu, for what is not merged; answers come back in order."""

    upstream: tuple[str, int]
    advertised: tuple[str, int]
    link: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    waiting: deque[tuple[wire.RequestHeader, asyncio.Future[bytes]]] = field(default_factory=deque)
    reader_task: asyncio.Task[None] | None = None

    async def send(self, frame: bytes, header: wire.RequestHeader, answered: bool) -> asyncio.Future[bytes] | None:
        if self.link is None:
            self.link = await asyncio.open_connection(*self.upstream)
            _no_delay(self.link[1])
            self.reader_task = asyncio.create_task(self._answers())
        answer: asyncio.Future[bytes] | None = asyncio.get_running_loop().create_future() if answered else None
        if answer is not None:
            self.waiting.append((header, answer))
        self.link[1].write(struct.pack(">i", len(frame)) + frame)
        await self.link[1].drain()
        return answer

    async def _answers(self) -> None:
        assert self.link is not None
        while (frame := await _read_frame(self.link[0])) is not None and self.waiting:
            header, answer = self.waiting.popleft()
            answer.set_result(struct.pack(">i", len(frame)) + self._rewrite(frame, header))
        for _, answer in self.waiting:  # the broker went away: the producer's connection is closed
            if not answer.done():
                answer.set_exception(ConnectionError("the broker closed the connection"))

    def _rewrite(self, frame: bytes, header: wire.RequestHeader) -> bytes:
        head, body = frame[:4], frame[4:]
        try:
            if header.api_key == wire.API_VERSIONS:
                return head + wire.clamp_api_versions(body, header.version)
            if header.api_key == wire.METADATA:
                return head + wire.rewrite_metadata_brokers(body, header.version, *self.advertised)
        except (wire.WireError, struct.error):
            pass  # an answer of a layout this module does not know goes back unchanged
        return frame

    def close(self) -> None:
        if self.reader_task is not None:
            self.reader_task.cancel()
        if self.link is not None:
            self.link[1].close()


class Intake:
    def __init__(self, upstream: tuple[str, int], advertised: tuple[str, int], linger_s: float) -> None:
        self.upstream, self.advertised = upstream, advertised
        self.counters = Counters()
        self.merger = Merger(upstream, linger_s, self.counters)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _no_delay(writer)
        answers: asyncio.Queue[asyncio.Future[bytes] | None] = asyncio.Queue()
        passthrough = _Passthrough(self.upstream, self.advertised)
        replies = asyncio.create_task(self._reply(answers, writer))
        try:
            while (frame := await _read_frame(reader)) is not None:
                answer = await self._handle(frame, passthrough)
                if answer is not None:
                    answers.put_nowait(answer)
        except (OSError, wire.WireError, struct.error) as exc:
            print(f"intake: closing a producer connection: {exc}", file=sys.stderr)
        finally:
            answers.put_nowait(None)
            with contextlib.suppress(Exception):
                await replies
            passthrough.close()
            writer.close()

    async def _handle(self, frame: bytes, passthrough: _Passthrough) -> asyncio.Future[bytes] | None:
        header = wire.request_header(frame)
        self.counters.requests += 1
        if header.api_key != wire.PRODUCE:
            return await passthrough.send(frame, header, answered=True)
        if header.version not in wire.MERGEABLE_PRODUCE:
            acks = struct.unpack_from(">h", frame, header.body_at)[0]
            return await passthrough.send(frame, header, answered=acks != 0)
        request = wire.parse_produce(frame, header)
        split = [wire.split_batches(p.records or b"") for p in request.partitions]
        if request.transactional_id is not None or any(s is None for s in split):
            self.counters.passed += 1
            return await passthrough.send(frame, header, answered=request.acks != 0)
        self.counters.merged_requests += 1
        answer = asyncio.ensure_future(self._merge(header, request, [s or [] for s in split]))
        return answer if request.acks != 0 else None

    async def _merge(
        self, header: wire.RequestHeader, request: wire.ProduceRequest, split: list[list[wire.Record]]
    ) -> bytes:
        stored = await asyncio.gather(
            *(
                self.merger.store(p.topic, p.partition, records, len(p.records or b""))
                for p, records in zip(request.partitions, split, strict=True)
            )
        )
        results = [
            wire.PartitionResult(p.topic, p.partition, code, offset)
            for p, (code, offset) in zip(request.partitions, stored, strict=True)
        ]
        return wire.encode_produce_response(header.correlation_id, header.version, results)

    @staticmethod
    async def _reply(answers: asyncio.Queue[asyncio.Future[bytes] | None], writer: asyncio.StreamWriter) -> None:
        try:
            while (answer := await answers.get()) is not None:
                writer.write(await answer)
                await writer.drain()
        except OSError:  # Tansu or the producer went away (ConnectionError): the producer reconnects
            writer.close()

    async def report(self) -> None:
        last = Counters()
        while True:
            await asyncio.sleep(REPORT_EVERY_S)
            c = self.counters
            if c == last:
                continue
            last = Counters(**vars(c))
            print(
                f"intake: {c.requests} requests, {c.merged_requests} produce requests merged into "
                f"{c.stored_batches} stored batches, {c.passed} passed unchanged",
                flush=True,
            )


async def main(port: int, upstream: tuple[str, int], host: str, linger_s: float) -> None:
    intake = Intake(upstream, (host, port), linger_s)
    server = await asyncio.start_server(intake.serve, host, port, reuse_address=True)
    print(
        f"intake: listening on {host}:{port}, storing in {upstream[0]}:{upstream[1]}, linger {linger_s * 1000:g} ms",
        flush=True,
    )
    async with server:
        await asyncio.gather(server.serve_forever(), intake.merger.run(), intake.report())


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m services.intake", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=_address, required=True, help="host:port the producers connect to")
    parser.add_argument("--upstream", type=_address, required=True, help="host:port of the Tansu broker")
    parser.add_argument("--linger-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.listen[1], args.upstream, args.listen[0], args.linger_ms / 1000))
