"""Prometheus metrics of the broker's intake (:mod:`services.intake`), ``prometheus_client`` conventions, served
by the intake itself at ``http://<host>:<port>/metrics`` (its port: ``reasonlake status``):

- ``reasonlake_intake_requests_total``: Kafka requests from clients;
- ``reasonlake_intake_merged_requests_total``: produce requests merged, and
  ``reasonlake_intake_stored_batches_total``: the batches they were stored as (the ratio is the merging);
- ``reasonlake_intake_passed_requests_total``: produce requests passed to the broker unchanged (compressed,
  idempotent, transactional);
- ``reasonlake_intake_tail_fetches_total``: reader fetches answered from the tail, without the broker;
- ``reasonlake_intake_tail_bytes`` and ``reasonlake_intake_tail_partitions``: what the tail holds.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.intake_merge import Counters
from services.intake_tail import Tails

COUNTERS = (
    ("requests", "requests", "Kafka requests from clients"),
    ("merged_requests", "merged_requests", "produce requests merged before the broker stored them"),
    ("stored_batches", "stored_batches", "record batches the merged requests were stored as"),
    ("passed", "passed_requests", "produce requests passed to the broker unchanged"),
    ("fetches_from_tail", "tail_fetches", "reader fetches answered from the tail"),
)


class IntakeCollector(Collector):
    """Reads the intake's counters and tail at each scrape (plain ints: safe from the server's thread)."""

    def __init__(self, counters: Counters, tails: Tails) -> None:
        self.counters, self.tails = counters, tails

    def collect(self) -> Iterator[Metric]:
        for field, name, doc in COUNTERS:
            yield CounterMetricFamily(f"reasonlake_intake_{name}", doc, value=getattr(self.counters, field))
        yield GaugeMetricFamily(
            "reasonlake_intake_tail_bytes", "bytes of record batches the tail holds", self.tails.size
        )
        yield GaugeMetricFamily(
            "reasonlake_intake_tail_partitions", "partitions the tail answers for", len(self.tails.parts)
        )
