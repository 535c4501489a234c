"""The PyFlink alert job with file-backed fakes of the topic model and the online store.

The real model and online store run in tests/e2e (the continuity test); this checks the job itself:
where it starts, micro-batches, the hygiene operators in Flink keyed state (one alert per message,
a rate limit per reason with its digest), what goes to ``feedback.alerts`` and ``alerts.alerts``,
and that a restart restores the job's state from its savepoint.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flink import kafka_io
from flink.alert_job import METRICS_PORT_FILE, run_alerts
from flink.jobconfig import AlertHygiene, AlertJobConfig, BatchPolicy
from lake import catalog as lake_catalog
from lake.settings import ALERTS_TOPIC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAKES = Path(__file__).resolve().parents[1] / "support" / "alert_fakes.py"


def msg(source: str, mid: str, text: str) -> tuple[str, bytes]:
    return f"feedback.{source}", json.dumps(
        {"message_id": mid, "source": source, "text": text, "created_at": "2026-01-05T10:00:00Z"}
    ).encode()


def scrape_until(folder: Path, messages: int, out: list[str], timeout_s: float = 120) -> None:
    """Scrape the running job's /metrics (its port in ``folder``) until it has read ``messages`` and every
    hygiene outcome is in; the last scrape goes to ``out``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            port = (folder / METRICS_PORT_FILE).read_text()
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
        except (OSError, ValueError):
            time.sleep(0.2)
            continue
        if f"reasonlake_alerts_messages_total {float(messages)}" in text and 'outcome="digest"} 2.0' in text:
            out.append(text)
            return
        time.sleep(0.2)


def features(topic: int, label: str, elected: bool, rank: int) -> dict:
    return {
        "label": label,
        "rank": rank,
        "share": 0.5,
        "elected": elected,
        "week": "2026-W01",
        "model_version": "v1",
        "valid_until": "2099-01-01T00:00:00+00:00",
    }


def test_alert_job_alerts_once_per_message_rate_limits_per_reason_and_keeps_its_state(
    settings, broker, monkeypatch
) -> None:
    monkeypatch.syspath_prepend(str(FAKES.parent))
    import alert_fakes

    alert_fakes.TopicArtifact("v1", "2026-W01", {"crash": 0, "price": 1}, {0: "crashes", 1: "prices"}).save(settings)
    alert_fakes.write_features(
        settings, {"v1/0": features(0, "app crashes", True, 1), "v1/1": features(1, "prices", False, 2)}
    )
    config = AlertJobConfig.from_settings(
        settings,
        micro_batch=BatchPolicy(batch_size=16, flush_interval_s=0.05),
        table_batch=BatchPolicy(batch_size=100, flush_interval_s=0.5),
        hygiene=AlertHygiene(max_alerts_per_reason=1, window_s=4.0),
        model_module="alert_fakes",
        lookup_module="alert_fakes",
        dissatisfaction_model=alert_fakes.write_dissatisfaction_model(settings.home / "dissatisfaction.json", 2),
    )
    config = replace(config, runtime=replace(config.runtime, python_files=(str(FAKES),)))

    # history: already ingested before alerting existed (simulated by the offsets ingestion records)
    kafka_io.produce(broker.bootstrap, [msg("crm", f"old-{i}", "old crash, awful") for i in range(5)])
    ingested: dict[tuple[str, int], int] = {}
    for r in kafka_io.consume(broker.bootstrap, ["feedback.crm"], max_idle_s=1.0):
        ingested[(r.topic, r.partition)] = max(r.offset, ingested.get((r.topic, r.partition), -1))
    cat = lake_catalog.load(settings)
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(
            lake_catalog.ensure_table(cat, identifier), lake_catalog.to_arrow(identifier, []), offsets=ingested
        )

    resent = msg("crm", "c1", "It crashed twice, awful")
    kafka_io.produce(
        broker.bootstrap,
        [
            msg("app", "a2", "price is high, awful"),  # its reason is not elected
            msg("app", "a3", "lovely"),  # satisfied
            ("feedback.app", b"not json"),  # invalid
        ],
    )
    # three different crashes and two re-sends, in one burst on one topic: one micro-batch, one window
    kafka_io.produce(
        broker.bootstrap,
        [resent, resent, msg("crm", "c2", "crash on start, terrible"), resent, msg("crm", "c3", "CRASH!! awful")],
    )
    scraped: list[str] = []
    scraper = threading.Thread(target=scrape_until, args=(config.progress_dir, 8, scraped), daemon=True)
    scraper.start()
    summary = run_alerts(settings, config, until_idle_s=6.0, metrics_port=0)
    scraper.join(5)
    counts = summary.counts
    # the metrics a team scrapes while the job runs are its counters
    [metrics] = scraped
    assert f"reasonlake_alerts_messages_total {float(summary.messages)}" in metrics
    for name, outcome in (("sent", "sent"), ("suppressed", "digest"), ("duplicate", "duplicate")):
        assert f'reasonlake_alerts_outcomes_total{{outcome="{outcome}"}} {float(counts[name])}' in metrics
    assert "reasonlake_alerts_decision_latency_seconds_count 5.0" in metrics  # one per candidate
    assert (summary.messages, counts["invalid"], counts["satisfied"], counts["no_alert"]) == (8, 1, 1, 1)
    # one alert per message (2 duplicates), one alert per reason and window, the rest in its digest
    assert (counts["candidates"], counts["duplicate"], counts["sent"], counts["suppressed"]) == (5, 2, 1, 2)
    assert counts["digest"] == 1 and summary.savepoint is not None and summary.restored_from is None

    every = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts").to_pylist()
    # every match on record with its outcome, every digest a row: the rows are the job's counters
    assert Counter((r["kind"], r["outcome"]) for r in every) == {
        ("alert", "sent"): counts["sent"],
        ("alert", "digest"): counts["suppressed"],
        ("alert", "duplicate"): counts["duplicate"],
        ("digest", "sent"): counts["digest"],
    }
    [digest_row] = [r for r in every if r["kind"] == "digest"]
    assert (digest_row["suppressed"], digest_row["label"], digest_row["message_id"]) == (2, "app crashes", None)
    assert {r["message_id"] for r in every if r["outcome"] == "duplicate"} == {"c1"}
    rows = [r for r in every if r["kind"] == "alert" and r["outcome"] == "sent"]
    assert len(rows) == 1 and {r["message_id"] for r in rows} <= {"c1", "c2", "c3"}
    assert {(r["reason_id"], r["label"], r["model_version"], r["week"]) for r in every} == {
        ("v1/0", "app crashes", "v1", "2026-W01")
    }
    sent = [json.loads(r.value) for r in kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=1.5)]
    alerts = [a for a in sent if a["kind"] == "alert"]
    [digest] = [a for a in sent if a["kind"] == "digest"]
    assert sorted(a["alert_id"] for a in alerts) == sorted(r["alert_id"] for r in rows)
    assert (digest["reason_id"], digest["suppressed"], digest["reason"]["label"]) == ("v1/0", 2, "app crashes")
    # the window opened with the reason's first alert (not on the clock's multiple of 4 s before it)
    start, end = (datetime.fromisoformat(digest[k].replace("Z", "+00:00")) for k in ("window_start", "window_end"))
    assert end - start == timedelta(seconds=4)
    assert timedelta(milliseconds=-1) <= start - rows[0]["alerted_at"] < timedelta(seconds=4)

    # a restart restores the state: the re-sent message is still known, the position carries on
    kafka_io.produce(broker.bootstrap, [resent, msg("web", "w1", "crash again, awful"), msg("crm", "c4", "fine")])
    summary = run_alerts(settings, config, until_idle_s=6.0)
    assert summary.restored_from is not None and summary.messages == 3
    assert (summary.counts["duplicate"], summary.counts["sent"]) == (1, 1)
    every = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts").to_pylist()
    rows = [r for r in every if r["outcome"] == "sent" and r["kind"] == "alert"]
    assert len(rows) == 2 and "w1" in {r["message_id"] for r in rows}
    assert sum(r["outcome"] == "duplicate" for r in every) == 3  # two in the first run, one now
    assert (
        len(
            [
                r
                for r in kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=1.5)
                if json.loads(r.value)["kind"] == "alert"
            ]
        )
        == 2
    )

    # the election goes stale: a match is on record as stale, passed through the hygiene, never sent
    stale = features(0, "app crashes", True, 1) | {"valid_until": "2026-01-01T00:00:00+00:00"}
    alert_fakes.write_features(settings, {"v1/0": stale, "v1/1": features(1, "prices", False, 2)})
    kafka_io.produce(broker.bootstrap, [msg("crm", "s1", "crash after the update, awful")])
    summary = run_alerts(settings, config, until_idle_s=6.0)
    assert (summary.messages, summary.counts["stale"], summary.counts["sent"]) == (1, 1, 0)
    every = lake_catalog.read(lake_catalog.load(settings), "alerts.alerts").to_pylist()
    assert [(r["message_id"], r["kind"]) for r in every if r["outcome"] == "stale"] == [("s1", "alert")]
    sent = [json.loads(r.value) for r in kafka_io.consume(broker.bootstrap, [ALERTS_TOPIC], max_idle_s=1.5)]
    assert "s1" not in {a.get("message_id") for a in sent}
