"""The alert job's plain side (no PyFlink): classify a micro-batch, decide, and write alert rows.

For each micro-batch of Kafka records (:class:`AlertEngine`): the live reasons are refreshed
(:class:`reasons.live.LiveWatcher`: the promoted model and its published election, swapped together
between batches), each valid message is judged (dissatisfied? its reason? elected? stale?), and each
alert becomes a *candidate line* for the hygiene operators (one alert per message, a rate limit per
reason, in Flink keyed state). ``alert_id`` is derived from the model version and the record's Kafka
position, so replaying a record never invents a new alert id; :class:`AlertWriter` appends every match
to ``alerts.alerts`` with its outcome (sent, held back in a digest, duplicate, stale) and every digest,
skipping ids the table already holds.

Where the job starts (:func:`flink.checkpoints.latest_state`): from its own latest savepoint or retained checkpoint
(positions, pending batches and hygiene state together); without one (the first run, or
``--fresh``), after what ingestion already committed to ``raw.feedback`` (those messages were there
before: history, not news), at EARLIEST on partitions ingestion has not seen.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import In

from flink.contract import Accepted, ContractLimits, KafkaEnvelope, validate
from flink.metrics import latency_bucket
from flink.sink import INGEST_TABLES, start_offsets
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.schemas import ALERTS
from reasons.live import LiveWatcher, NoLiveModelError, Verdict
from reasons.pii import redact
from reasons.sentiment import DissatisfactionRule, load_model

ALERT_NAMESPACE = uuid.UUID("6f1d3c2a-6a52-5d4e-9a57-7c1b2e0f4a11")
#: outcomes of the hygiene operators (AlertDeduplicator, AlertRateLimiter), in accounting lines
OUTCOMES = ("sent", "duplicate", "suppressed", "digest")


def alert_id(model_version: str, topic: str, partition: int, offset: int) -> str:
    """Stable id of the alert a model raises for one Kafka record."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{model_version}|{topic}|{partition}|{offset}"))


def decide(message: Accepted, verdict: Verdict, now: datetime) -> dict | None:
    """The ``alerts.alerts`` row for one judged message, or None when it raises no alert: only a
    dissatisfied message within the core of a reason elected in the live, not stale, election alerts
    (:attr:`reasons.live.Verdict.alerts`)."""
    if not verdict.alerts:
        return None
    return _alert_row(message, verdict, now)


def decide_stale(message: Accepted, verdict: Verdict, now: datetime) -> dict | None:
    """The row of a message that would have alerted but for the election being past its ``valid_until``
    (outcome ``stale``: on record, nothing sent), or None."""
    if not (verdict.stale and replace(verdict, stale=False).alerts):
        return None
    return _alert_row(message, verdict, now)


def _alert_row(message: Accepted, verdict: Verdict, now: datetime) -> dict:
    env, row = message.envelope, message.row
    return {
        "alert_id": alert_id(verdict.model_version, env.topic, env.partition, env.offset),
        "message_id": row["message_id"],
        "source": row["source"],
        "topic_id": int(verdict.topic_id),
        "reason_id": verdict.reason_id,
        "label": str(verdict.label),
        "week": verdict.week,
        "model_version": verdict.model_version,
        "similarity": float(verdict.similarity),
        "text": row["text"],
        **env.provenance(),
        "alerted_at": now,
    }


def alert_json(row: Mapping) -> str:
    """The ``feedback.alerts`` message of an alert row (``kind`` alert; timestamps as ISO-8601)."""
    payload = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    return json.dumps({"kind": "alert", **payload}, ensure_ascii=False, sort_keys=True)


def message_key(source: str, message_id: str) -> str:
    """The hygiene key of a message (hex: safe in a tab-separated line whatever the id holds)."""
    return hashlib.sha1(f"{source}\x00{message_id}".encode()).hexdigest()


def candidate_line(row: Mapping) -> str:
    """``key TAB reason_id TAB reason_json TAB alert_json``: what the hygiene operators read (JSON
    escapes tabs and newlines, so every field is one)."""
    reason = {k: row[k] for k in ("reason_id", "label", "week", "model_version")}
    return "\t".join(
        (
            message_key(row["source"], row["message_id"]),
            str(row["reason_id"]),
            json.dumps(reason, ensure_ascii=False, sort_keys=True),
            alert_json(row),
        )
    )


def parse_accounting(line: str) -> tuple[str, dict[str, Any]]:
    """An accounting line of :class:`AlertRateLimiter` (Java), a stale match's included: its outcome and its
    alert or digest."""
    outcome, _key, _reason_id, _reason, payload = line.split("\t", 4)
    return outcome, json.loads(payload)


def stale_line(row: Mapping) -> str:
    """The accounting line of a stale match (:func:`decide_stale`), marked ``stale``: the hygiene operators
    pass it through untouched (``AlertDeduplicator.STALE``), to ``alerts.alerts`` only."""
    return "stale\t" + candidate_line(row)


def row_of(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The ``alerts.alerts`` row of an alert message (ISO timestamps parsed back)."""
    row = {k: v for k, v in alert.items() if k != "kind"}
    for key in ("kafka_timestamp", "alerted_at"):
        row[key] = datetime.fromisoformat(row[key])
    return row


# accounting outcome -> alerts.alerts outcome (lake.schemas.ALERT_OUTCOMES): a suppressed alert is in a digest
_ROW_OUTCOME = {"sent": "sent", "suppressed": "digest", "duplicate": "duplicate", "stale": "stale"}


def record_of(outcome: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``alerts.alerts`` row of one accounting line: an alert with its outcome, or a digest."""
    if outcome != "digest":
        return {**row_of(payload), "kind": "alert", "outcome": _ROW_OUTCOME[outcome]}
    reason = payload.get("reason") or {}
    return {
        "alert_id": payload["alert_id"],
        "reason_id": payload["reason_id"],
        "label": str(reason.get("label", "")),
        "week": str(reason.get("week", "")),
        "model_version": str(reason.get("model_version", "")),
        "alerted_at": datetime.fromisoformat(payload["window_end"]),
        "window_start": datetime.fromisoformat(payload["window_start"]),
        "suppressed": int(payload["suppressed"]),
        "kind": "digest",
        "outcome": "sent",
    }


class AlertEngine:
    """validate → redact personal data → judge with the live reasons (one embedding batch per
    micro-batch) → decide;
    returns the candidate lines and counts what happened to each record."""

    def __init__(
        self,
        watcher: LiveWatcher,
        limits: ContractLimits = ContractLimits(),
        rule: DissatisfactionRule = DissatisfactionRule(),
        say: Callable[[str], None] = print,
    ) -> None:
        self.watcher = watcher
        self.limits = limits
        self.rule = rule
        self.say = say
        self.counts: Counter[str] = Counter()

    @classmethod
    def open(cls, config, say: Callable[[str], None] = print) -> AlertEngine:
        """For an ``AlertJobConfig``: the live reasons of ``config.model_module`` / ``lookup_module``,
        loaded now (model and embedder warmed up), then refreshed every ``reload_interval_s``."""
        watcher = open_watcher(config, say)
        watcher.current().model.assign(["warm-up"])  # load the embedder now, not on the first message
        return cls(watcher, config.limits, config.dissatisfaction, say)

    def process_batch(self, envelopes: Sequence[KafkaEnvelope], now: datetime) -> list[str]:
        live = self.watcher.current()  # a promotion swaps model and election here, between batches
        self.counts["reloads"] = self.watcher.counts.reloads
        self.counts["lookup_errors"] = self.watcher.counts.lookup_errors
        notice = self.watcher.stale_notice(now)
        if notice:
            self.say(notice)
        accepted: list[Accepted] = []
        for envelope in envelopes:
            outcome = validate(envelope, now, self.limits)
            if isinstance(outcome, Accepted):
                # personal data never reaches the embedding, alerts.alerts nor feedback.alerts
                accepted.append(replace(outcome, row={**outcome.row, "text": redact(outcome.row["text"])}))
            else:
                self.counts["invalid"] += 1
        started = time.perf_counter()
        verdicts = live.classify([m.row["text"] for m in accepted], [m.row["rating"] for m in accepted], self.rule, now)
        if accepted:  # the embedding batch (flink/metrics.py)
            self.counts["embed_batches"] += 1
            self.counts["embed_messages"] += len(accepted)
            self.counts["embed_ms"] += round((time.perf_counter() - started) * 1000)
        decided = now + timedelta(seconds=time.perf_counter() - started)  # alerted_at: once classified
        lines = []
        for message, verdict in zip(accepted, verdicts):
            row = decide(message, verdict, decided)
            stale = None if row is not None else decide_stale(message, verdict, decided)
            if row is not None:
                self.counts["candidates"] += 1
                lines.append(candidate_line(row))
                waited = max(0.0, (decided - row["kafka_timestamp"]).total_seconds())  # produced -> decided
                self.counts[latency_bucket(waited)] += 1
                self.counts["latency_ms_sum"] += round(waited * 1000)
            elif stale is not None:
                self.counts["stale"] += 1  # would have alerted: the election is past its valid_until
                lines.append(stale_line(stale))
            elif not verdict.dissatisfied:
                self.counts["satisfied"] += 1
            elif not verdict.sure:
                self.counts["unsure"] += 1  # counted dissatisfied on a close call: no alert
            else:
                self.counts["no_alert"] += 1
        return lines


def open_watcher(config, say: Callable[[str], None] = print) -> LiveWatcher:
    """A :class:`LiveWatcher` over ``config.model_module`` (``current_artifact_path``, ``TopicArtifact``)
    and ``config.lookup_module`` (``ReasonLookup``), polled every ``config.reload_interval_s``."""
    models = importlib.import_module(config.model_module)
    lookup = importlib.import_module(config.lookup_module).ReasonLookup(config.settings)
    return LiveWatcher(
        pointer=lambda: models.current_artifact_path(config.settings),
        load=models.TopicArtifact.load,
        lookup=lookup,
        poll_s=config.reload_interval_s,
        say=say,
        dissatisfaction=load_model(config.dissatisfaction_model) if config.dissatisfaction_model else None,
    )


def wait_for_live_model(config, poll_s: float = 10.0, say: Callable[[str], None] = print) -> None:
    """Block until a model is promoted and its election is online (said once while waiting)."""
    told = False
    watcher = open_watcher(config, say=lambda _: None)  # one online store handle for every check
    while True:
        try:
            watcher.current()  # with nothing live yet, every call reads the pointer and the store again
            return
        except NoLiveModelError as exc:
            if not told:
                say(f"[alerts] waiting for the first promoted model ({exc}); checking every {poll_s:.0f} s")
                told = True
        time.sleep(poll_s)


class AlertWriter:
    """Appends every accounting line to ``alerts.alerts`` (:func:`record_of`: alerts with their outcome, and
    digests), each ``alert_id`` once (a replay after a restore re-sends some: the table keeps the first);
    counts every outcome.

    Only a row that may be in the table already is looked up there: a digest, or an alert for a message at
    or below the highest offset of its partition among the rows the table held before this writer's first
    write (a replay re-reads messages an earlier run, or attempt, read). The rest are new: no table scan
    per write, whose cost would grow with the table's files."""

    def __init__(self, catalog: Catalog) -> None:
        self.table = lake_catalog.ensure_table(catalog, ALERTS.identifier)
        self.counts: Counter[str] = Counter()
        self.looked_up = 0  # alert ids looked up in the table
        self._earlier: dict[tuple[str | None, int | None], int] | None = None

    def _highest_earlier_offsets(self) -> dict[tuple[str | None, int | None], int]:
        """The highest input offset per partition among the rows the table holds (read once)."""
        done = self.table.scan(selected_fields=("kafka_topic", "kafka_partition", "kafka_offset")).to_arrow()
        highest = done.group_by(["kafka_topic", "kafka_partition"]).aggregate([("kafka_offset", "max")])
        return {
            (t, p): o
            for t, p, o in zip(
                highest.column("kafka_topic").to_pylist(),
                highest.column("kafka_partition").to_pylist(),
                highest.column("kafka_offset_max").to_pylist(),
                strict=True,
            )
            if o is not None
        }

    @staticmethod
    def _may_be_stored(row: Mapping[str, Any], earlier: Mapping[tuple[str | None, int | None], int]) -> bool:
        offset = row.get("kafka_offset")
        return offset is None or offset <= earlier.get((row.get("kafka_topic"), row.get("kafka_partition")), -1)

    def write(self, lines: Sequence[str]) -> int:
        rows = []
        for line in lines:
            outcome, payload = parse_accounting(line)
            if outcome != "stale":  # counted where it was decided (AlertEngine)
                self.counts[outcome] += 1
            rows.append(record_of(outcome, payload))
        if not rows:
            return 0
        self.table = self.table.refresh()
        if self._earlier is None:
            self._earlier = self._highest_earlier_offsets()
        unsure = sorted({r["alert_id"] for r in rows if self._may_be_stored(r, self._earlier)})
        known: set[str] = set()
        if unsure:
            self.looked_up += len(unsure)
            known = set(
                self.table.scan(row_filter=In("alert_id", unsure), selected_fields=("alert_id",))
                .to_arrow()
                .column("alert_id")
                .to_pylist()
            )
        fresh = list({r["alert_id"]: r for r in rows if r["alert_id"] not in known}.values())
        if len(fresh) < len(rows):
            self.counts["rows_skipped"] += len(rows) - len(fresh)
        if fresh:
            self.table = lake_catalog.append(self.table, lake_catalog.to_arrow(ALERTS.identifier, fresh))
        return len(fresh)


def first_run_offsets(catalog: Catalog) -> dict[TopicPartition, int]:
    """Where a job without saved state starts: after what ingestion committed (see the module doc)."""
    return start_offsets(catalog, INGEST_TABLES)
