"""File-backed stand-ins for ``dagster_project.topics.model`` and ``feature_repo.online``.

Standalone (stdlib only) so a Flink test can ship it to the Python workers
(``FlinkRuntime.python_files``) and select it with ``AlertJobConfig.model_module`` /
``lookup_module``. The model assigns the topic of the first keyword found in the text: its
"embedding" of a text is one 0/1 dimension per keyword; :func:`write_dissatisfaction_model` writes a
classifier over those embeddings (dissatisfied when VADER's compound <= -0.125).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = "fake-topic-model.json"
FEATURES_FILE = "fake-reason-features.json"


@dataclass(frozen=True)
class Assignment:
    topic_id: int
    similarity: float


class TopicArtifact:
    def __init__(self, model_version: str, week: str, keywords: dict[str, int], labels: dict[int, str]) -> None:
        self.model_version = model_version
        self.week = week
        self.keywords = keywords
        self.labels = labels

    @classmethod
    def load(cls, path: Path) -> TopicArtifact:
        d = json.loads(Path(path).read_text())
        return cls(d["model_version"], d["week"], d["keywords"], {int(k): v for k, v in d["labels"].items()})

    def save(self, settings) -> Path:
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        path = settings.models_dir / MODEL_FILE
        path.write_text(
            json.dumps(
                {
                    "model_version": self.model_version,
                    "week": self.week,
                    "keywords": self.keywords,
                    "labels": self.labels,
                }
            )
        )
        return path

    @property
    def embedder(self) -> KeywordEmbedder:
        return KeywordEmbedder(list(self.keywords))

    def assign(self, texts: list[str]) -> list[Assignment]:
        return self.assign_embeddings(self.embedder.encode(texts))

    def assign_embeddings(self, embeddings) -> list[Assignment]:
        topics = list(self.keywords.values())
        out = []
        for row in embeddings:
            hit = next((topics[i] for i, v in enumerate(row) if v > 0), -1)
            out.append(Assignment(hit, 0.9 if hit >= 0 else 0.1))
        return out

    def alert_similarity(self, topic_id: int) -> float:
        return 0.5

    def label(self, topic_id: int) -> str:
        return self.labels.get(topic_id, "outlier")

    def reason_id(self, topic_id: int) -> str:
        return f"{self.model_version}/{topic_id}"

    def reason_ids(self) -> list[str]:
        return sorted(self.reason_id(t) for t in set(self.keywords.values()))


class KeywordEmbedder:
    def __init__(self, keywords: list[str]) -> None:
        self.keywords = keywords

    def encode(self, sentences: list[str], **_) -> list[list[float]]:
        return [[float(k in s.lower()) for k in self.keywords] for s in sentences]


def write_dissatisfaction_model(path: Path, dimensions: int) -> Path:
    """A ``reasons.sentiment.DissatisfactionModel`` JSON over the fake's embeddings."""
    model = {"coef": [0.0] * dimensions, "vader_coef": -8.0, "intercept": -1.0, "threshold": 0.5}
    path.write_text(json.dumps(model))
    return path


def current_artifact_path(settings) -> Path | None:
    path = settings.models_dir / MODEL_FILE
    return path if path.exists() else None


def write_features(settings, features: dict[str, dict]) -> None:
    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    (settings.feast_dir / FEATURES_FILE).write_text(json.dumps(features))


class ReasonLookup:
    def __init__(self, settings) -> None:
        self.path = settings.feast_dir / FEATURES_FILE
        self.calls = 0

    def get(self, reason_ids: list[str]) -> dict[str, dict | None]:
        self.calls += 1
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        return {r: data.get(r) for r in reason_ids}
