"""In-memory doubles of the topic model and the online store for the live reasons' and the alert
decision's unit tests (the real ones run in tests/integration and tests/e2e)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from flink.contract import Accepted, KafkaEnvelope, validate
from reasons.sentiment import DissatisfactionModel, DissatisfactionRule

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class A:
    topic_id: int
    similarity: float = 0.8


@dataclass
class Model:
    """Topic 3 for texts with "crash", 5 for "price", else the outliers; counts what it embedded."""

    model_version: str = "v7"
    week: str = "2026-W10"
    embedded: list[str] = field(default_factory=list)

    def assign(self, texts: list[str]) -> list[A]:
        self.embedded.extend(texts)
        return [A(3) if "crash" in t else A(5) if "price" in t else A(-1) for t in texts]

    def label(self, topic_id: int) -> str:
        return f"model label {topic_id}"

    def reason_id(self, topic_id: int) -> str:
        return f"{self.model_version}/{topic_id}"

    def reason_ids(self) -> list[str]:
        return [self.reason_id(3), self.reason_id(5)]

    def alert_similarity(self, topic_id: int) -> float:
        return 0.5  # the doubles assign at 0.8 unless told otherwise


class Lookup:
    """An online store: ``features`` by reason id; ``broken`` makes every read fail."""

    def __init__(self, features: dict[str, dict]) -> None:
        self.features = features
        self.broken = False
        self.asked: list[list[str]] = []

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]:
        self.asked.append(list(reason_ids))
        if self.broken:
            raise OSError("online.db: file is not a database")
        return {r: self.features.get(r) for r in reason_ids}


class Promotions:
    """A CURRENT pointer over in-memory models (``pointer`` / ``load`` of a :class:`LiveWatcher`)."""

    def __init__(self, *models: Model) -> None:
        self.models = {Path(m.model_version): m for m in models}
        self.current: Path | None = Path(models[-1].model_version) if models else None

    def promote(self, model: Model) -> None:
        self.models[Path(model.model_version)] = model
        self.current = Path(model.model_version)

    def pointer(self) -> Path | None:
        return self.current

    def load(self, path: Path) -> Model:
        return self.models[path]


def features(elected: bool = True, model_version: str = "v7", week: str = "2026-W10", **extra) -> dict:
    return {
        "label": "app crashes",
        "rank": 1,
        "share": 0.4,
        "elected": elected,
        "week": week,
        "model_version": model_version,
        "valid_until": datetime(2026, 3, 30, tzinfo=UTC),
        **extra,
    }


def election(model_version: str = "v7", week: str = "2026-W10", **extra) -> dict[str, dict]:
    """Topic 3 elected, topic 5 a candidate that is not, for ``model_version``."""
    return {
        f"{model_version}/3": features(True, model_version, week, **extra),
        f"{model_version}/5": features(False, model_version, week, label="prices", rank=2, **extra),
    }


def envelope(
    text: str = "the app crash again, awful",
    offset: int = 11,
    topic: str = "feedback.crm",
    message_id: str | None = None,
    rating: int | None = None,
) -> KafkaEnvelope:
    body = {
        "message_id": message_id or f"m{offset}",
        "source": topic.split(".")[1],
        "text": text,
        "created_at": "2026-03-09T08:00:00Z",
    }
    if rating is not None:
        body["rating"] = rating
    return KafkaEnvelope(topic, 1, offset, 1_773_000_000_000, json.dumps(body).encode())


def message(text: str = "the app crash again, awful", offset: int = 11, topic: str = "feedback.crm") -> Accepted:
    out = validate(envelope(text, offset, topic), NOW)
    assert isinstance(out, Accepted)
    return out


# a stand-in classifier over the doubles' 2-d embeddings: dissatisfied when VADER's compound <= -0.125
TINY = DissatisfactionModel(coef=np.zeros(2), vader_coef=-8.0, intercept=-1.0, threshold=0.5)
RULE = DissatisfactionRule(threshold=TINY.threshold)


@dataclass
class KeywordEmbedder:
    """2-d "embeddings" [has "crash", has "price"]; records each batch it encodes."""

    batches: list[list[str]] = field(default_factory=list)

    def encode(self, sentences: list[str], batch_size: int = 32, **_) -> np.ndarray:
        self.batches.append(list(sentences))
        return np.array([[float("crash" in s), float("price" in s)] for s in sentences], dtype=np.float32)


@dataclass
class EmbeddingModel(Model):
    """The topic model double, assigning embeddings: topic 3 for "crash", 5 for "price", else outliers."""

    embedder: KeywordEmbedder = field(default_factory=KeywordEmbedder)
    assigned: list[list[float]] = field(default_factory=list)

    def assign_embeddings(self, embeddings: np.ndarray) -> list[A]:
        self.assigned.extend(e.tolist() for e in embeddings)
        return [A(3) if e[0] > 0 else A(5) if e[1] > 0 else A(-1) for e in embeddings]
