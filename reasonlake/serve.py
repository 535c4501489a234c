"""``reasonlake serve``: which reason is this message? An HTTP API over the live reasons.

``POST /classify`` (one message or many) answers, per message, its reason id and label, whether that
reason is elected, the similarity, the model version, and whether the message is dissatisfied;
``GET /reasons`` the live election; ``GET /health`` what is live; ``GET /metrics`` Prometheus metrics
(:func:`api_metrics`). The service judges messages exactly
as the alert job does (:class:`reasons.live.LiveReasons`) and reloads the same way when a new week is
promoted (every ``reload_interval_s``). OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, Summary, generate_latest
from prometheus_client.core import CounterMetricFamily
from pydantic import BaseModel, Field

from lake.settings import Settings
from reasons.live import LiveReasons, LiveWatcher, NoLiveModelError
from reasons.pii import redact  # judged as the alert job judges: on the redacted text
from reasons.sentiment import DissatisfactionRule

MAX_MESSAGES = 1000


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=20_000, description="the message as the customer wrote it")
    rating: int | None = Field(default=None, ge=1, le=5, description="1-5 stars where the platform has them")
    message_id: str | None = Field(default=None, description="echoed back, to match answers to messages")


class Batch(BaseModel):
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)


class Classified(BaseModel):
    message_id: str | None
    reason_id: str | None = Field(description="registry id of the message's reason; null: no reason's topic is close")
    label: str | None
    elected: bool = Field(description="the reason is elected in the live election (and it is not stale)")
    alerts: bool = Field(
        description=(
            "the alert job would alert: dissatisfied, elected, and within the core of the reason's topic "
            "(never for a reason too loose to alert on this week)"
        )
    )
    similarity: float
    dissatisfied: bool = Field(description="only dissatisfied messages are matched to a reason")
    sentiment: float
    topic_id: int
    model_version: str
    week: str


class Classification(BaseModel):
    model_version: str
    week: str
    stale: bool
    results: list[Classified]


class Reasons(BaseModel):
    model_version: str
    week: str
    valid_until: datetime | None
    stale: bool
    elected: list[dict[str, Any]]


@dataclass(frozen=True)
class ApiMetrics:
    """The API's Prometheus metrics, in a registry of its own (one per app)."""

    registry: CollectorRegistry
    messages: Counter  # by verdict: alert, elected, reason, no_reason, satisfied
    seconds: Histogram  # per /classify request
    batch: Summary  # messages per /classify call (one embedding batch)


def api_metrics(watcher: LiveWatcher) -> ApiMetrics:
    registry = CollectorRegistry(auto_describe=True)

    class Reloads:
        def collect(self):
            family = CounterMetricFamily("reasonlake_api_reloads", "Live reasons reloaded (a promotion seen).")
            family.add_metric([], watcher.counts.reloads)
            yield family

    registry.register(Reloads())
    return ApiMetrics(
        registry=registry,
        messages=Counter("reasonlake_api_messages", "Messages classified, by verdict.", ["verdict"], registry=registry),
        seconds=Histogram(
            "reasonlake_api_classify_seconds",
            "Seconds per /classify request (embedding and classification).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        ),
        batch=Summary(
            "reasonlake_api_embedding_batch_size",
            "Messages per /classify call (one embedding batch).",
            registry=registry,
        ),
    )


def _verdict_name(v) -> str:
    if v.alerts:
        return "alert"
    if not v.dissatisfied:
        return "satisfied"
    if v.elected and not v.stale:
        return "elected"
    return "reason" if v.reason_id else "no_reason"


def create_app(
    settings: Settings,
    reload_interval_s: float = 5.0,
    watcher: LiveWatcher | None = None,
    rule: DissatisfactionRule = DissatisfactionRule(),
) -> FastAPI:
    """The API over ``settings``' live reasons (``watcher`` defaults to the real model and online store)."""
    if watcher is None:
        from feature_repo.online import ReasonLookup
        from reasons.topics.artifact import TopicArtifact, current_artifact_path

        watcher = LiveWatcher(
            pointer=lambda: current_artifact_path(settings),
            load=TopicArtifact.load,
            lookup=ReasonLookup(settings),
            poll_s=reload_interval_s,
        )
    lock = threading.Lock()  # one classification at a time: the watcher and the model are not thread-safe
    metrics = api_metrics(watcher)
    app = FastAPI(title="reasonlake", summary="Which of this week's reasons is a customer message?")

    def live() -> LiveReasons:
        try:
            return watcher.current()
        except NoLiveModelError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from None

    @app.post("/classify", response_model=Classification)
    def classify(body: Message | Batch) -> Classification:
        """One message (``{"text": ...}``) or many (``{"messages": [...]}``)."""
        messages = body.messages if isinstance(body, Batch) else [body]
        now = datetime.now(UTC)
        started = time.perf_counter()
        with lock:
            reasons = live()
            verdicts = reasons.classify([redact(m.text) for m in messages], [m.rating for m in messages], rule, now)
        metrics.seconds.observe(time.perf_counter() - started)
        metrics.batch.observe(len(messages))
        for v in verdicts:
            metrics.messages.labels(_verdict_name(v)).inc()
        return Classification(
            model_version=reasons.model_version,
            week=reasons.week,
            stale=reasons.stale(now),
            results=[
                Classified(
                    message_id=m.message_id,
                    reason_id=v.reason_id,
                    label=v.label,
                    elected=v.elected and not v.stale,
                    alerts=v.alerts,
                    similarity=v.similarity,
                    dissatisfied=v.dissatisfied,
                    sentiment=v.sentiment,
                    topic_id=v.topic_id,
                    model_version=v.model_version,
                    week=v.week,
                )
                for m, v in zip(messages, verdicts)
            ],
        )

    @app.get("/reasons", response_model=Reasons)
    def reasons_now() -> Reasons:
        """The live election: its elected reasons by rank."""
        with lock:
            reasons = live()
        return Reasons(
            model_version=reasons.model_version,
            week=reasons.week,
            valid_until=reasons.valid_until,
            stale=reasons.stale(datetime.now(UTC)),
            elected=reasons.elected(),
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text exposition of :func:`api_metrics`."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> dict[str, Any]:
        with lock:
            reasons = live()
        return {
            "status": "ok",
            "model_version": reasons.model_version,
            "week": reasons.week,
            "stale": reasons.stale(datetime.now(UTC)),
            "reloads": watcher.counts.reloads,
        }

    return app
