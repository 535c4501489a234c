"""Prometheus metrics: the alert job's collector over its progress totals, and the classify API's /metrics,
scraped over HTTP and parsed with prometheus_client's own parser."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from flink import metrics
from flink.alerting import AlertEngine
from flink.progress import Totals
from lake.settings import Settings
from reasonlake.serve import create_app
from reasons.live import LiveWatcher
from services import metrics_server
from tests.support.alert_doubles import NOW, RULE, TINY, EmbeddingModel, Lookup, Promotions, election, envelope


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def watcher() -> LiveWatcher:
    promotions = Promotions(EmbeddingModel("v7"))
    return LiveWatcher(promotions.pointer, promotions.load, Lookup(election("v7")), dissatisfaction=TINY)


def test_the_alert_jobs_metrics_are_its_counters_served_over_http() -> None:
    engine = AlertEngine(watcher(), rule=RULE)
    batch = [envelope("the app crash again, awful", 0), envelope("great app, love it", 1)]
    engine.process_batch(batch, NOW)
    counts = dict(engine.counts) | {"sent": 1, "digest": 1, "reloads": 2}
    assert counts["embed_batches"] == 1 and counts["embed_messages"] == 2
    collector = metrics.AlertJobCollector(lag=lambda totals: 7)
    collector.update(Totals(1, 2, 0, 0, counts, None))
    server, port = metrics_server.serve(collector, 0)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    got = samples(text)
    assert got[("reasonlake_alerts_messages_total", ())] == 2
    assert got[("reasonlake_alerts_outcomes_total", (("outcome", "sent"),))] == 1
    assert got[("reasonlake_alerts_outcomes_total", (("outcome", "satisfied"),))] == 1
    assert got[("reasonlake_alerts_digests_total", ())] == 1 and got[("reasonlake_alerts_reloads_total", ())] == 2
    assert got[("reasonlake_alerts_consumer_lag_messages", ())] == 7
    assert got[("reasonlake_alerts_embedding_batch_size_count", ())] == 1
    assert got[("reasonlake_alerts_embedding_batch_size_sum", ())] == 2
    # the one candidate's latency, in the histogram: produced 2026-03-08T20:00Z, its batch handed over at NOW
    # (16 h later) and decided once classified, a few milliseconds on
    waited = (NOW - datetime.fromtimestamp(1_773_000_000, UTC)).total_seconds()
    assert got[("reasonlake_alerts_decision_latency_seconds_count", ())] == 1
    assert waited <= got[("reasonlake_alerts_decision_latency_seconds_sum", ())] < waited + 5
    assert got[("reasonlake_alerts_decision_latency_seconds_bucket", (("le", "30.0"),))] == 0


def test_the_latency_histogram_counts_each_decision_in_its_bucket_cumulatively() -> None:
    counts: dict[str, int] = {}
    for seconds in (0.01, 0.07, 0.07, 40.0):
        key = metrics.latency_bucket(seconds)
        counts[key] = counts.get(key, 0) + 1
    family = metrics.AlertJobCollector._latency(counts)
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert (buckets["0.025"], buckets["0.05"], buckets["0.1"], buckets["30.0"], buckets["+Inf"]) == (1, 1, 3, 3, 4)


def test_the_classify_api_serves_its_metrics(tmp_path) -> None:
    client = TestClient(create_app(Settings(home=tmp_path), watcher=watcher(), rule=RULE))
    body = {"messages": [{"text": "the app crash again, awful"}, {"text": "great app, love it"}]}
    assert client.post("/classify", json=body).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("reasonlake_api_classify_seconds_count", ())] == 1
    assert got[("reasonlake_api_embedding_batch_size_sum", ())] == 2
    assert got[("reasonlake_api_messages_total", (("verdict", "satisfied"),))] == 1
    assert sum(v for (name, _), v in got.items() if name == "reasonlake_api_messages_total") == 2
    assert got[("reasonlake_api_reloads_total", ())] == 0
