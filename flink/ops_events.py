"""Operational events (a failed run, a failed check) published where people look: the Kafka topic
``feedback.ops`` and, when ``REASONLAKE_OPS_WEBHOOK_URL`` is set, a JSON POST to it. Best effort: a
notifier that cannot reach either says so in its log and never fails the caller."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Mapping
from typing import Any

from flink import kafka_io
from lake.settings import OPS_TOPIC, Settings
from services import broker

log = logging.getLogger(__name__)


def publish(settings: Settings, event: Mapping[str, Any]) -> list[str]:
    """Send ``event`` (JSON) to ``feedback.ops`` and the webhook; returns where it went."""
    body = json.dumps(dict(event), sort_keys=True, default=str).encode()
    sent = []
    try:
        kafka_io.produce(broker.bootstrap_servers(settings), [(OPS_TOPIC, body)], timeout_s=10)
        sent.append(OPS_TOPIC)
    except Exception as exc:  # no broker, a delivery failure: tell the log, not the caller
        log.warning("ops event not sent to %s: %s", OPS_TOPIC, exc)
    if settings.ops_webhook_url:
        request = urllib.request.Request(
            settings.ops_webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5):
                sent.append(settings.ops_webhook_url)
        except Exception as exc:
            log.warning("ops event not POSTed to %s: %s", settings.ops_webhook_url, exc)
    return sent
