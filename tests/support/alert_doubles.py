"""In-memory doubles of the topic model and the Feast lookup for the alert decision's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flink.contract import Accepted, KafkaEnvelope, validate

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class A:
    topic_id: int
    similarity: float = 0.8


class Model:
    model_version = "v7"
    week = "2026-W10"

    def assign(self, texts: list[str]) -> list[A]:
        return [A(3) if "crash" in t else A(5) if "price" in t else A(-1) for t in texts]

    def label(self, topic_id: int) -> str:
        return f"model label {topic_id}"

    def reason_id(self, topic_id: int) -> str:
        return f"{self.model_version}/{topic_id}"


class Lookup:
    def __init__(self, features: dict[str, dict]) -> None:
        self.features = features
        self.asked: list[list[str]] = []

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]:
        self.asked.append(list(reason_ids))
        return {r: self.features.get(r) for r in reason_ids}


def features(elected: bool = True, model_version: str = "v7", **extra) -> dict:
    return {
        "label": "app crashes",
        "rank": 1,
        "share": 0.4,
        "elected": elected,
        "week": "2026-W10",
        "model_version": model_version,
        **extra,
    }


def message(text: str = "the app crash again", offset: int = 11, topic: str = "feedback.crm") -> Accepted:
    value = json.dumps(
        {"message_id": f"m{offset}", "source": topic.split(".")[1], "text": text, "created_at": "2026-03-09T08:00:00Z"}
    ).encode()
    out = validate(KafkaEnvelope(topic, 1, offset, 1_773_000_000_000, value), NOW)
    assert isinstance(out, Accepted)
    return out
