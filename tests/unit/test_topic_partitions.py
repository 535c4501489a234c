"""``flink.kafka_io.topic_partitions`` with a stand-in client (a real broker cannot be made to answer a topic's
metadata with an error on demand): an error that passes is asked about again, a missing topic is left out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException

from flink import kafka_io


class _Client:
    def __init__(self, answers: dict[str, list[KafkaError | None]], config: dict) -> None:
        self.answers, self.asked = answers, []

    def list_topics(self, topic: str, timeout: float):
        self.asked.append(topic)
        queue = self.answers[topic]
        error = queue.pop(0) if len(queue) > 1 else queue[0]
        if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return SimpleNamespace(topics={})
        return SimpleNamespace(topics={topic: SimpleNamespace(error=error, partitions={0: None, 1: None})})

    def close(self) -> None:
        pass


def _stand_in(monkeypatch, answers: dict[str, list[KafkaError | None]]) -> list[_Client]:
    made: list[_Client] = []

    def consumer(config: dict) -> _Client:
        made.append(_Client(answers, config))
        return made[-1]

    monkeypatch.setattr(kafka_io, "Consumer", consumer)
    monkeypatch.setattr(kafka_io.time, "sleep", lambda _s: None)
    return made


def test_a_topic_whose_leader_is_not_known_yet_is_asked_about_again(monkeypatch) -> None:
    leaderless = KafkaError(KafkaError.LEADER_NOT_AVAILABLE)
    made = _stand_in(monkeypatch, {"a": [leaderless, leaderless, None], "b": [None]})
    assert kafka_io.topic_partitions("x:1", ["a", "b"]) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    assert made[0].asked == ["a", "a", "a", "b"]


def test_a_missing_topic_is_left_out_at_once(monkeypatch) -> None:
    made = _stand_in(monkeypatch, {"gone": [KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)], "b": [None]})
    assert kafka_io.topic_partitions("x:1", ["gone", "b"]) == [("b", 0), ("b", 1)]
    assert made[0].asked == ["gone", "b"]


def test_a_topic_that_stays_leaderless_fails_once_its_time_is_up(monkeypatch) -> None:
    _stand_in(monkeypatch, {"a": [KafkaError(KafkaError.LEADER_NOT_AVAILABLE)]})
    with pytest.raises(KafkaException):
        kafka_io.topic_partitions("x:1", ["a"], timeout_s=0.0)
