"""File-backed stand-ins for ``dagster_project.topics.model`` and ``feature_repo.online``.

Standalone (stdlib only) so a Flink test can ship it to the Python workers
(``FlinkRuntime.python_files``) and select it with ``AlertJobConfig.model_module`` /
``lookup_module``. The model assigns the topic of the first keyword found in the text.
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

    def assign(self, texts: list[str]) -> list[Assignment]:
        out = []
        for text in texts:
            hit = next((t for k, t in self.keywords.items() if k in text.lower()), -1)
            out.append(Assignment(hit, 0.9 if hit >= 0 else 0.1))
        return out

    def label(self, topic_id: int) -> str:
        return self.labels.get(topic_id, "outlier")

    def reason_id(self, topic_id: int) -> str:
        return f"{self.model_version}/{topic_id}"

    def reason_ids(self) -> list[str]:
        return sorted(self.reason_id(t) for t in set(self.keywords.values()))


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
