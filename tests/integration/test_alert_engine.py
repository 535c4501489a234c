"""The alert job's plain side on a real Iceberg catalog: alert rows written once per alert id, where a
job without saved state starts (no Flink)."""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField

from flink.alerting import AlertWriter, alert_json, decide, first_run_offsets
from lake import catalog as lake_catalog
from lake.schemas import ALERTS as ALERTS_SPEC
from reasons.live import LiveReasons
from tests.support.alert_doubles import NOW, RULE, TINY, EmbeddingModel, election, message

ALERTS = "alerts.alerts"


def _row(offset: int, text: str = "the app crash again, awful") -> dict:
    live = LiveReasons(model=EmbeddingModel(), path=None, election=election(), dissatisfaction=TINY)  # type: ignore[arg-type]
    row = decide(message(text, offset), live.classify([text], [None], RULE, NOW)[0], NOW)
    assert row is not None
    return row


def accounting(outcome: str, text: str, offset: int) -> str:
    row = _row(offset, text)
    return "\t".join((outcome, "key", row["reason_id"], "{}", alert_json(row)))


def test_every_match_is_written_once_per_alert_id_with_its_outcome_and_counted(settings) -> None:
    cat = lake_catalog.load(settings)
    writer = AlertWriter(cat)
    batch = [
        accounting("sent", "the app crash again, awful", 0),
        accounting("sent", "crash on login, awful", 1),
        accounting("duplicate", "crash on login, awful", 2),
        accounting("suppressed", "awful crash", 3),
        accounting("stale", "crash crash, awful", 4),
    ]
    assert writer.write(batch) == 5
    # a replay after a restore sends the same alerts again: the table keeps the first
    replay = AlertWriter(cat)
    assert replay.write(batch[:2]) == 0 and replay.counts["rows_skipped"] == 2
    assert replay.looked_up == 2  # at or below the offsets the table held: looked up
    later = AlertWriter(cat)  # a message past every offset the table held is new: appended without a lookup
    assert later.write([accounting("sent", "crash at checkout, awful", 9)]) == 1 and later.looked_up == 0
    assert later.write(batch[:1]) == 0 and later.looked_up == 1
    rows = lake_catalog.read(cat, ALERTS).to_pylist()
    assert {r["kafka_offset"]: r["outcome"] for r in rows} == {
        0: "sent",
        1: "sent",
        2: "duplicate",
        3: "digest",  # held back by the rate limit: counted in its reason's digest
        4: "stale",
        9: "sent",
    }
    assert {r["model_version"] for r in rows} == {"v7"}
    assert NOW <= rows[0]["alerted_at"] < NOW + timedelta(seconds=30)  # once its batch was classified
    assert {r["kind"] for r in rows} == {"alert"}
    assert dict(writer.counts) == {"sent": 2, "duplicate": 1, "suppressed": 1}  # stale: counted where decided
    reason = json.dumps({"reason_id": "v7/3", "label": "crashes", "week": "2026-W02", "model_version": "v7"})
    digest = json.dumps(
        {
            "kind": "digest",
            "alert_id": "digest/v7/3/1000",
            "reason_id": "v7/3",
            "suppressed": 4,
            "window_start": "2026-01-12T10:00:00Z",
            "window_end": "2026-01-12T10:01:00Z",
            "reason": json.loads(reason),
        }
    )
    assert writer.write([f"digest\t\tv7/3\t{reason}\t{digest}"]) == 1 and writer.counts["digest"] == 1
    [row] = [r for r in lake_catalog.read(cat, ALERTS).to_pylist() if r["kind"] == "digest"]
    assert (row["outcome"], row["suppressed"], row["label"], row["message_id"]) == ("sent", 4, "crashes", None)
    assert row["alerted_at"] - row["window_start"] == timedelta(minutes=1)


def test_an_alerts_table_of_an_earlier_contract_gains_the_outcome_columns(settings) -> None:
    """A home whose alerts.alerts predates outcomes (message columns required, no kind/outcome): the writer
    evolves it in place and keeps its rows."""
    cat = lake_catalog.load(settings)
    old = Schema(
        *(
            NestedField(f.field_id, f.name, f.field_type, required=True, doc=f.doc)
            for f in ALERTS_SPEC.schema.fields
            if f.field_id <= 15
        )
    )
    cat.create_namespace("alerts")
    table = cat.create_table(ALERTS, schema=old, partition_spec=ALERTS_SPEC.partition_spec)
    table.append(pa.Table.from_pylist([_row(9)], schema=schema_to_pyarrow(old, include_field_ids=False)))
    writer = AlertWriter(cat)
    assert writer.write([accounting("suppressed", "awful crash", 3)]) == 1
    rows = lake_catalog.read(cat, ALERTS).to_pylist()
    assert sorted((r["kafka_offset"], r["outcome"]) for r in rows) == [(3, "digest"), (9, None)]
    assert not cat.load_table(ALERTS).schema().find_field("message_id").required


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
