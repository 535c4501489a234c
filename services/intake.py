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
* Per partition, records keep the order in which their requests reached the intake, and one produce request
  at a time, merged or passed through, reaches Tansu (:class:`services.intake_merge.Writers`).
* What it does not merge passes through unchanged on the connection's own link to Tansu: every other
  request, and produce requests with compressed, idempotent or transactional batches. ``ApiVersions``
  answers are clamped to the protocol versions :mod:`services.kafka_wire` encodes, and ``Metadata`` answers
  name the intake as the broker, so producers stay on it.

* Readers (the jobs, audits) connect here too: a fetch for what was stored last is answered from the tail
  the intake keeps (:mod:`services.intake_tail`), at once when a batch is stored; any other is Tansu's.

Run by :func:`services.broker.start` as ``python -m services.intake``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services import kafka_fetch as fetch
from services import kafka_wire as wire
from services import metrics_server
from services.intake_merge import AT_ONCE_PER_S, Counters, Merger, Writers, no_delay, read_frame
from services.intake_metrics import IntakeCollector
from services.intake_tail import PROBE_EVERY_S, Tails

REPORT_EVERY_S = 60.0
# requests that change what a partition holds other than by producing, so the tail starts again:
# CreateTopics, DeleteTopics, DeleteRecords, EndTxn, WriteTxnMarkers, CreatePartitions
_CHANGES_LOGS = frozenset({19, 20, 21, 26, 27, 37})
Observer = Callable[[bytes], None]  # reads an upstream answer's body (after its correlation id)


@dataclass
class _Passthrough:
    """One client connection's own link to Tansu, for what the intake does not answer itself; answers come
    back in order. ``lost`` is called when Tansu closes the link."""

    upstream: tuple[str, int]
    advertised: tuple[str, int]
    lost: Callable[[], None]
    link: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    waiting: deque[tuple[wire.RequestHeader, asyncio.Future[bytes], Observer | None]] = field(default_factory=deque)
    reader_task: asyncio.Task[None] | None = None
    probed: float = 0.0  # when a fetch the tail could have answered was last sent to Tansu instead

    async def send(
        self, frame: bytes, header: wire.RequestHeader, answered: bool, observe: Observer | None = None
    ) -> asyncio.Future[bytes] | None:
        if self.link is None:
            self.link = await asyncio.open_connection(*self.upstream)
            no_delay(self.link[1])
            self.reader_task = asyncio.create_task(self._answers())
        answer: asyncio.Future[bytes] | None = asyncio.get_running_loop().create_future() if answered else None
        if answer is not None:
            self.waiting.append((header, answer, observe))
        self.link[1].write(struct.pack(">i", len(frame)) + frame)
        await self.link[1].drain()
        return answer

    async def _answers(self) -> None:
        assert self.link is not None
        while (frame := await read_frame(self.link[0])) is not None and self.waiting:
            header, answer, observe = self.waiting.popleft()
            if observe is not None:
                try:
                    observe(frame[4:])
                except (wire.WireError, struct.error):
                    self.lost()  # an answer the tail cannot follow: it starts again
            answer.set_result(struct.pack(">i", len(frame)) + self._rewrite(frame, header))
        self.lost()
        for _, answer, _observe in self.waiting:  # the broker went away: the client's connection is closed
            if not answer.done():
                answer.set_exception(ConnectionError("the broker closed the connection"))

    def _rewrite(self, frame: bytes, header: wire.RequestHeader) -> bytes:
        head, body = frame[:4], frame[4:]
        try:
            if header.api_key == wire.API_VERSIONS:
                return head + wire.clamp_api_versions(body, header.version)
            if header.api_key == wire.METADATA:
                return head + wire.rewrite_metadata_brokers(body, header.version, *self.advertised)
            if header.api_key == wire.FIND_COORDINATOR:
                return head + wire.rewrite_coordinator(body, header.version, *self.advertised)
        except (wire.WireError, struct.error):
            pass  # an answer of a layout this module does not know goes back unchanged
        return frame

    def close(self) -> None:
        if self.reader_task is not None:
            self.reader_task.cancel()
        if self.link is not None:
            self.link[1].close()
        for _, answer, _observe in self.waiting:  # what waits on them (a partition's writer lock) goes on
            answer.cancel()


class Intake:
    def __init__(
        self, upstream: tuple[str, int], advertised: tuple[str, int], linger_s: float, at_once_per_s: float
    ) -> None:
        self.upstream, self.advertised = upstream, advertised
        self.counters = Counters()
        self.tails = Tails()
        self.writers = Writers()
        self.merger = Merger(upstream, linger_s, self.counters, self.tails, self.writers, at_once_per_s)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        no_delay(writer)
        answers: asyncio.Queue[asyncio.Future[bytes] | None] = asyncio.Queue()
        passthrough = _Passthrough(self.upstream, self.advertised, self.tails.clear)
        replies = asyncio.create_task(self._reply(answers, writer))
        try:
            while (frame := await read_frame(reader)) is not None:
                answer = await self._handle(frame, passthrough)
                if answer is not None:
                    answers.put_nowait(answer)
        except (OSError, wire.WireError, struct.error) as exc:
            print(f"intake: closing a client connection: {exc}", file=sys.stderr)
        finally:
            answers.put_nowait(None)
            with contextlib.suppress(Exception):
                await replies
            passthrough.close()
            writer.close()

    async def _handle(self, frame: bytes, passthrough: _Passthrough) -> asyncio.Future[bytes] | None:
        header = wire.request_header(frame)
        self.counters.requests += 1
        if header.api_key == wire.FETCH and header.version in fetch.SERVED_FETCH:
            return asyncio.ensure_future(self._fetch(frame, header, passthrough))
        if header.api_key in _CHANGES_LOGS:
            self.tails.clear()
        if header.api_key != wire.PRODUCE:
            return await passthrough.send(frame, header, answered=True)
        if header.version not in wire.MERGEABLE_PRODUCE:
            self.tails.clear()
            acks = struct.unpack_from(">h", frame, header.body_at)[0]
            return await passthrough.send(frame, header, answered=acks != 0)
        request = wire.parse_produce(frame, header)
        split = [wire.split_batches(p.records or b"") for p in request.partitions]
        if request.transactional_id is not None or any(s is None for s in split):
            self.counters.passed += 1
            if request.transactional_id is not None:  # may be aborted: Tansu answers these partitions now
                for p in request.partitions:
                    self.tails.forget(p.topic, p.partition)
            observe = functools.partial(self._passed, request, header.version)
            locks = await self.writers.acquire([(p.topic, p.partition) for p in request.partitions])
            try:
                answer = await passthrough.send(frame, header, answered=request.acks != 0, observe=observe)
            except BaseException:
                self.writers.release(locks)
                raise
            if answer is None:
                self.writers.release(locks)
            else:
                answer.add_done_callback(lambda _answer: self.writers.release(locks))
            return answer
        self.counters.merged_requests += 1
        answer = asyncio.ensure_future(self._merge(header, request, [s or [] for s in split]))
        return answer if request.acks != 0 else None

    def _passed(self, request: wire.ProduceRequest, version: int, body: bytes) -> None:
        """Tansu's answer to a produce request passed unchanged: its batches join the tail, unless transactional."""
        sent = {(p.topic, p.partition): p.records for p in request.partitions}
        for result in wire.parse_produce_response(body, version):
            records = sent.get((result.topic, result.partition))
            if result.error_code or not records:
                continue
            rebased, span, transactional = wire.rebase(records, result.base_offset)
            if transactional:
                self.tails.forget(result.topic, result.partition)
            else:
                self.tails.stored(result.topic, result.partition, result.base_offset, rebased, span)

    async def _fetch(self, frame: bytes, header: wire.RequestHeader, link: _Passthrough) -> bytes:
        """A reader's fetch, answered from the tail when it holds every partition asked for
        (:mod:`services.intake_tail`), by Tansu otherwise."""
        request = fetch.parse_fetch(frame, header)
        if request.replica_id < 0 and request.session_epoch <= 0:  # a consumer's full fetch
            deadline = time.monotonic() + request.max_wait_ms / 1000
            while (parts := self.tails.answer(request)) is not None:
                remaining = deadline - time.monotonic()
                if any(p.records for p in parts) or (remaining <= 0 and time.monotonic() - link.probed < PROBE_EVERY_S):
                    self.counters.fetches_from_tail += 1
                    return fetch.encode_fetch_response(header.correlation_id, header.version, parts)
                if remaining <= 0:  # nothing new for a while: Tansu has a look, in case a batch went past the intake
                    break
                await self.tails.changed(remaining)
            link.probed = time.monotonic()
        observe = functools.partial(self._fetched, request)
        answer = await link.send(
            fetch.sessionless(frame, request, request.max_wait_ms), header, answered=True, observe=observe
        )
        assert answer is not None
        return await answer

    def _fetched(self, request: fetch.FetchRequest, body: bytes) -> None:
        """Where Tansu answered a reader at a partition's end with nothing, the tail starts there; where
        Tansu holds more than the tail (batches that went past the intake), the tail starts again."""
        asked = {(p.topic, p.partition): p.offset for p in request.partitions}
        for p in fetch.parse_fetch_response(body, request.version):
            if p.error_code:
                continue
            if not p.records and asked.get((p.topic, p.partition)) == p.high_watermark:
                self.tails.ends_at(p.topic, p.partition, p.high_watermark)
            else:
                self.tails.behind(p.topic, p.partition, p.high_watermark)

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
        except OSError:  # Tansu or the client went away (ConnectionError): the client reconnects
            writer.close()
        except (wire.WireError, struct.error) as exc:  # a request it could not read: the client reconnects
            print(f"intake: closing a client connection: {exc}", file=sys.stderr)
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
                f"{c.stored_batches} stored batches, {c.passed} passed unchanged; {c.fetches_from_tail} fetches "
                "answered from the tail",
                flush=True,
            )


async def main(
    port: int,
    upstream: tuple[str, int],
    host: str,
    linger_s: float,
    at_once_per_s: float,
    metrics_port_file: Path | None = None,
) -> None:
    intake = Intake(upstream, (host, port), linger_s, at_once_per_s)
    server = await asyncio.start_server(intake.serve, host, port, reuse_address=True)
    if metrics_port_file is not None:
        _serve_metrics(intake, host, metrics_port_file)
    print(
        f"intake: listening on {host}:{port}, storing in {upstream[0]}:{upstream[1]}, linger {linger_s * 1000:g} ms "
        f"past {at_once_per_s:g} stored batches a second",
        flush=True,
    )
    async with server:
        await asyncio.gather(server.serve_forever(), intake.merger.run(), intake.report())


def _serve_metrics(intake: Intake, host: str, port_file: Path) -> None:
    """Prometheus metrics (:mod:`services.intake_metrics`) on the port in ``port_file`` when it is free, else on
    a free one, written back there (``reasonlake status`` reads it)."""
    collector = IntakeCollector(intake.counters, intake.tails)
    try:
        _, bound = metrics_server.serve(collector, int(port_file.read_text()), host)
    except (OSError, ValueError):  # no file yet, or its port is taken
        _, bound = metrics_server.serve(collector, 0, host)
    port_file.write_text(str(bound))
    print(f"intake: Prometheus metrics at http://{host}:{bound}/metrics", flush=True)


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m services.intake", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=_address, required=True, help="host:port the clients connect to")
    parser.add_argument("--upstream", type=_address, required=True, help="host:port of the Tansu broker")
    parser.add_argument("--linger-ms", type=float, default=50.0)
    parser.add_argument(
        "--metrics-port-file",
        type=Path,
        default=None,
        help="serve Prometheus metrics on the port this file names (a free one when it is taken), written back there",
    )
    parser.add_argument(
        "--at-once-per-s",
        type=float,
        default=AT_ONCE_PER_S,
        help="stored batches a second below which a merged request does not linger (0: it always does)",
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.listen[1],
            args.upstream,
            args.listen[0],
            args.linger_ms / 1000,
            args.at_once_per_s,
            args.metrics_port_file,
        )
    )
