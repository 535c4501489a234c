"""The alert job's plain side on a real Iceberg catalog: alert rows written once per alert id, where a
job without saved state starts (no Flink)."""

from __future__ import annotations

import json

from flink.alerting import AlertWriter, alert_json, decide, first_run_offsets
from lake import catalog as lake_catalog
from reasons.live import LiveReasons
from tests.support.alert_doubles import NOW, RULE, TINY, EmbeddingModel, election, message

ALERTS = "alerts.alerts"


def accounting(outcome: str, text: str, offset: int) -> str:
    live = LiveReasons(model=EmbeddingModel(), path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    msg = message(text, offset)
    row = decide(msg, live.classify([text], [None], RULE, NOW)[0], NOW)
    assert row is not None
    return "\t".join((outcome, "key", row["reason_id"], "{}", alert_json(row)))


def test_sent_alerts_are_written_once_per_alert_id_and_every_outcome_counted(settings) -> None:
    cat = lake_catalog.load(settings)
    writer = AlertWriter(cat)
    batch = [
        accounting("sent", "the app crash again, awful", 0),
        accounting("sent", "crash on login, awful", 1),
        accounting("duplicate", "crash on login, awful", 2),
        accounting("suppressed", "awful crash", 3),
    ]
    assert writer.write(batch) == 2
    # a replay after a restore sends the same alerts again: the table keeps the first
    replay = AlertWriter(cat)
    assert replay.write(batch[:2]) == 0 and replay.counts["rows_skipped"] == 2
    rows = lake_catalog.read(cat, ALERTS).to_pylist()
    assert sorted(r["kafka_offset"] for r in rows) == [0, 1]
    assert {r["model_version"] for r in rows} == {"v7"} and rows[0]["alerted_at"] == NOW
    assert dict(writer.counts) == {"sent": 2, "duplicate": 1, "suppressed": 1}
    digest = json.dumps({"kind": "digest", "reason_id": "v7/3", "suppressed": 4})
    assert writer.write([f"digest\t\tv7/3\t{{}}\t{digest}"]) == 0 and writer.counts["digest"] == 1


def test_without_saved_state_the_job_starts_after_what_ingestion_committed(settings) -> None:
    cat = lake_catalog.load(settings)
    assert first_run_offsets(cat) == {}  # nothing anywhere: EARLIEST everywhere
    for identifier in ("raw.feedback", "raw.feedback_rejected"):
        lake_catalog.append(
            lake_catalog.ensure_table(cat, identifier),
            lake_catalog.to_arrow(identifier, []),
            offsets={("feedback.crm", 0): 41},
        )
    assert first_run_offsets(cat) == {("feedback.crm", 0): 42}
