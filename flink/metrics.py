"""Prometheus metrics of the alert job (``prometheus_client`` conventions), served by its driver
(:func:`services.metrics_server.serve`).

The job's operators report counters in their progress files (:mod:`flink.progress`); the driver, which
polls them, keeps the latest totals and answers each scrape from them (:class:`AlertJobCollector`):

- ``reasonlake_alerts_messages_total``: messages read;
- ``reasonlake_alerts_outcomes_total{outcome}``: what became of them (``sent``, ``digest`` for held back by
  the rate limit, ``duplicate``, ``stale``, and the messages that matched nothing: ``no_alert``,
  ``satisfied``, ``unsure``, ``invalid``); ``reasonlake_alerts_digests_total``: digests sent;
- ``reasonlake_alerts_consumer_lag_messages``: records the broker holds that the job has not read;
- ``reasonlake_alerts_decision_latency_seconds``: a histogram of Kafka timestamp → alert decided, per alert;
- ``reasonlake_alerts_reloads_total``: live reasons reloaded (a promotion);
- ``reasonlake_alerts_embedding_batch_size`` and ``..._batch_seconds``: summaries of the micro-batches
  embedded and classified.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from flink.progress import Totals

#: upper bounds (seconds) of the decision latency histogram; the classify step counts into them
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# engine count names -> alerts outcome label (flink/alerting.py: "suppressed" alerts went into a digest)
OUTCOME_COUNTS = {
    "sent": "sent",
    "suppressed": "digest",
    "duplicate": "duplicate",
    "stale": "stale",
    "no_alert": "no_alert",
    "satisfied": "satisfied",
    "unsure": "unsure",
    "invalid": "invalid",
}


def latency_bucket(seconds: float) -> str:
    """The engine count a decision latency falls into (the first bound at or above it; ``inf`` past all)."""
    for i, bound in enumerate(LATENCY_BUCKETS):
        if seconds <= bound:
            return f"latency_bucket_{i}"
    return f"latency_bucket_{len(LATENCY_BUCKETS)}"


class AlertJobCollector(Collector):
    """The alert job's metrics from its latest progress totals (:meth:`update`), the lag asked at scrape."""

    def __init__(self, lag: Callable[[Totals], int] | None = None) -> None:
        self._totals: Totals | None = None
        self._lag = lag
        self._lock = threading.Lock()

    def update(self, totals: Totals) -> None:
        with self._lock:
            self._totals = totals

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            totals = self._totals
        counts: Mapping[str, int] = totals.counts if totals else {}
        messages = CounterMetricFamily("reasonlake_alerts_messages", "Messages the alert job read.")
        messages.add_metric([], totals.records_seen if totals else 0)
        yield messages
        outcomes = CounterMetricFamily(
            "reasonlake_alerts_outcomes", "What became of each message read, by outcome.", labels=["outcome"]
        )
        for name, outcome in OUTCOME_COUNTS.items():
            outcomes.add_metric([outcome], int(counts.get(name, 0)))
        yield outcomes
        digests = CounterMetricFamily("reasonlake_alerts_digests", "Digests sent (one per reason and window).")
        digests.add_metric([], int(counts.get("digest", 0)))
        yield digests
        reloads = CounterMetricFamily("reasonlake_alerts_reloads", "Live reasons reloaded (a promotion seen).")
        reloads.add_metric([], int(counts.get("reloads", 0)))
        yield reloads
        yield self._latency(counts)
        for name, what, total in (
            ("size", "Messages per micro-batch embedded and classified.", "embed_messages"),
            ("seconds", "Seconds to embed and classify a micro-batch.", "embed_ms"),
        ):
            summary = Metric(f"reasonlake_alerts_embedding_batch_{name}", what, "summary")
            scale = 1000.0 if name == "seconds" else 1.0
            summary.add_sample(
                f"reasonlake_alerts_embedding_batch_{name}_count", {}, int(counts.get("embed_batches", 0))
            )
            summary.add_sample(f"reasonlake_alerts_embedding_batch_{name}_sum", {}, counts.get(total, 0) / scale)
            yield summary
        if self._lag is not None and totals is not None:
            lag = GaugeMetricFamily("reasonlake_alerts_consumer_lag_messages", "Records on the broker not yet read.")
            try:
                lag.add_metric([], self._lag(totals))
            except Exception:  # the broker does not answer: no lag sample this scrape
                return
            yield lag

    @staticmethod
    def _latency(counts: Mapping[str, int]) -> HistogramMetricFamily:
        buckets, running = [], 0
        for i, bound in enumerate((*LATENCY_BUCKETS, float("inf"))):
            running += int(counts.get(f"latency_bucket_{i}", 0))
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return HistogramMetricFamily(
            "reasonlake_alerts_decision_latency_seconds",
            "Kafka timestamp of a message to its alert decided (the classify step), per alert.",
            buckets=buckets,
            sum_value=counts.get("latency_ms_sum", 0) / 1000.0,
        )
