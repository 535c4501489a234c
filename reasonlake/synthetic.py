"""A realistic generator of multi-source customer feedback, with the ground truth it used.

Several issue types, each worded differently on each platform (CRM agent notes, support-portal
tickets, review-portal reviews with a star rating), praise and neutral questions too, a weekly
trend where one issue surges, a few re-sent duplicates and a few malformed records. Pure and
seeded: the same arguments give the same records.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flink.contract import topic_of_source
from lake.weeks import last_complete_week, shift_week, week_bounds
from reasonlake.synthetic_texts import (
    AFFECT,
    ALL_ISSUES,
    BASE_WEIGHTS,
    COUNTRIES,
    EMERGING_ISSUES,
    ISSUES,
    NEUTRAL,
    NEUTRAL_STYLE,
    NEUTRAL_WEIGHT,
    POSITIVE_STYLE,
    PRAISE,
    PRAISE_WEIGHT,
    SEGMENTS,
    SOURCES,
    STYLE,
)

OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))


@dataclass(frozen=True)
class SyntheticSpec:
    messages: int = 6000
    weeks: int = 6
    seed: int = 7
    surge_issue: str = "app_crash"
    surge_week_index: int = -1  # which generated week surges (-1: the last)
    surge_factor: float = 6.0
    invalid_rate: float = 0.01
    duplicate_rate: float = 0.005
    now: datetime | None = None  # weeks end at the last complete week before now
    new_issue: str | None = None  # an EMERGING_ISSUES issue, absent before new_issue_week_index
    new_issue_week_index: int = -1
    new_issue_weight: float = 0.10
    # share of messages that end with the customer's contact details (a made-up e-mail address, phone
    # or card number: what redaction must catch); drawn from a separate random stream, so the other
    # messages are the same as without
    pii_rate: float = 0.0


@dataclass(frozen=True)
class SyntheticRecord:
    topic: str
    value: bytes
    kind: str  # issue name, "praise", "neutral", "duplicate" or "invalid"
    message_id: str | None


@dataclass
class GroundTruth:
    weeks: list[str]
    surge: dict
    per_week: dict[str, dict] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # message_id -> kind
    invalid: int = 0
    duplicates: int = 0
    records: int = 0
    pii: list[str] = field(default_factory=list)  # the personal-data values written into messages

    def top_issues(self, week: str, k: int = 3) -> list[str]:
        counts = Counter(self.per_week[week]["issues"])
        return [issue for issue, _ in counts.most_common(k)]

    def to_json(self) -> str:
        """Without ``pii``: the made-up personal data is never written anywhere but the messages."""
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "pii"}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        return cls(**json.loads(text))


def week_weights(spec: SyntheticSpec, week_index: int, rng: random.Random) -> dict[str, float]:
    surge_at = spec.surge_week_index % spec.weeks
    weights = {issue: w * rng.uniform(0.85, 1.15) for issue, w in BASE_WEIGHTS.items()}
    if week_index == surge_at:
        weights[spec.surge_issue] *= spec.surge_factor
    if spec.new_issue is not None and week_index >= spec.new_issue_week_index % spec.weeks:
        weights[spec.new_issue] = spec.new_issue_weight
    weights["praise"], weights["neutral"] = PRAISE_WEIGHT, NEUTRAL_WEIGHT
    return weights


def generate(spec: SyntheticSpec) -> tuple[list[SyntheticRecord], GroundTruth]:
    if spec.surge_issue not in ISSUES:
        raise ValueError(f"unknown surge issue {spec.surge_issue!r}; choose from {sorted(ISSUES)}")
    if spec.new_issue is not None and spec.new_issue not in EMERGING_ISSUES:
        raise ValueError(f"unknown new issue {spec.new_issue!r}; choose from {sorted(EMERGING_ISSUES)}")
    rng = random.Random(spec.seed)
    now = spec.now or datetime.now(UTC)
    last = last_complete_week(now)
    weeks = [shift_week(last, i - spec.weeks + 1) for i in range(spec.weeks)]
    truth = GroundTruth(
        weeks=weeks,
        surge={
            "issue": spec.surge_issue,
            "week": weeks[spec.surge_week_index % spec.weeks],
            "factor": spec.surge_factor,
        },
    )
    per_week = max(1, spec.messages // spec.weeks)
    records: list[SyntheticRecord] = []
    pii_rng = random.Random(f"pii-{spec.seed}")
    for wi, week in enumerate(weeks):
        weights = week_weights(spec, wi, rng)
        kinds = rng.choices(list(weights), weights=list(weights.values()), k=per_week)
        issues = Counter(k for k in kinds if k in ALL_ISSUES)
        truth.per_week[week] = {
            "issues": dict(issues),
            "praise": kinds.count("praise"),
            "neutral": kinds.count("neutral"),
            "messages": per_week,
        }
        start, _ = week_bounds(week)
        for i, kind in enumerate(kinds):
            source = rng.choice(SOURCES)
            message_id = f"{source[:3]}-{week}-{i:06d}"
            message = _message(rng, kind, source, message_id, start + timedelta(seconds=rng.uniform(0, 7 * 86400 - 1)))
            _add_contact(pii_rng, message, spec.pii_rate, truth.pii)
            record = SyntheticRecord(topic_of_source(source), json.dumps(message).encode(), kind, message_id)
            records.append(record)
            truth.labels[message_id] = kind
            if rng.random() < spec.duplicate_rate:  # a platform re-sends the same message
                records.append(SyntheticRecord(record.topic, record.value, "duplicate", message_id))
                truth.duplicates += 1
            if rng.random() < spec.invalid_rate:
                records.append(_invalid(rng, source, f"bad-{week}-{i:06d}"))
                truth.invalid += 1
    truth.records = len(records)
    return records, truth


def _message(rng: random.Random, kind: str, source: str, message_id: str, created: datetime) -> dict:
    if kind in ALL_ISSUES:
        cores, details = ALL_ISSUES[kind]
        text = (
            rng.choice(STYLE[source])
            .format(core=rng.choice(cores), detail=rng.choice(details), affect=rng.choice(AFFECT))
            .strip()
            .replace("  ", " ")
        )
        rating = rng.choice((1, 1, 2))
    elif kind == "praise":
        text, rating = POSITIVE_STYLE[source].format(core=rng.choice(PRAISE)), rng.choice((4, 5, 5))
    else:
        text, rating = NEUTRAL_STYLE[source].format(core=rng.choice(NEUTRAL)), 3
    text = text[0].upper() + text[1:]
    message: dict[str, Any] = {
        "message_id": message_id,
        "source": source,
        "text": text,
        "created_at": created.astimezone(rng.choice(OFFSETS)).isoformat(timespec="seconds"),
        "user": {
            "id": f"u{rng.randrange(100000):05d}",
            "segment": rng.choice(SEGMENTS),
            "country": rng.choice(COUNTRIES),
        },
        "tags": [kind] if kind in ALL_ISSUES and source != "review_portal" else [],
    }
    if source == "review_portal" or (source == "support_portal" and rng.random() < 0.3):
        message["rating"] = rating  # CRM notes carry no rating: dissatisfaction comes from sentiment
    if source == "crm":
        message["channel"] = rng.choice(("phone", "chat", "email"))  # an extra attribute, kept as is
    return message


def contact_details(rng: random.Random) -> tuple[str, str]:
    """A made-up contact sentence and the personal-data value in it (e-mail, UK drama-range phone
    number, or a Luhn-valid card number)."""
    from stdnum import luhn

    kind = rng.choice(("email", "phone", "card"))
    if kind == "email":
        value = f"{rng.choice(('ana', 'li', 'sam', 'noor'))}.{rng.choice(('smith', 'garcia', 'ito'))}{rng.randint(10, 99)}@example.com"
        return f" Write to me at {value}.", value
    if kind == "phone":
        value = f"+44 20 7946 0{rng.randint(0, 999):03d}"
        return f" Call me back on {value}.", value
    body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
    number = body + luhn.calc_check_digit(body)
    value = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return f" My card is {value}.", value


def _add_contact(rng: random.Random, message: dict, rate: float, values: list[str]) -> None:
    if rate > 0 and rng.random() < rate:
        sentence, value = contact_details(rng)
        message["text"] += sentence
        values.append(value)


def _invalid(rng: random.Random, source: str, message_id: str) -> SyntheticRecord:
    topic = topic_of_source(source)
    choices = (
        b"{not json",
        json.dumps({"message_id": message_id, "source": source, "created_at": "2026-01-01T00:00:00Z"}).encode(),
        json.dumps(
            {"message_id": message_id, "source": source, "text": "   ", "created_at": "2026-01-01T00:00:00Z"}
        ).encode(),
        json.dumps({"message_id": message_id, "source": source, "text": "hello", "created_at": "yesterday"}).encode(),
        b"\xff\xfe not utf-8",
    )
    return SyntheticRecord(topic, rng.choice(choices), "invalid", None)


def iter_jsonl(path: str) -> Iterator[tuple[str, bytes]]:
    """(topic, value) per line of a JSONL file; the topic follows each line's ``source``.

    A line that is not a JSON object with a usable ``source`` still goes to Kafka (topic
    ``feedback.unknown``) so ingestion routes it to the rejected table with its reason —
    nothing is dropped on the way in.
    """
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                source = json.loads(line)["source"]
                topic = topic_of_source(source)
            except Exception:
                topic = topic_of_source("unknown")
            yield topic, line


def incoming(
    n: int,
    seed: int,
    now: datetime,
    surge_issue: str = "app_crash",
    surge_share: float = 0.5,
    pii_rate: float = 0.0,
    pii: list[str] | None = None,
) -> tuple[list[SyntheticRecord], dict[str, str]]:
    """Fresh messages written in the last hour (what the alert job sees after an election):
    ``surge_share`` of them about the surging issue, the rest other issues, praise and questions;
    ``pii_rate`` of them end with contact details (their values appended to ``pii``)."""
    rng = random.Random(seed)
    pii_rng = random.Random(f"pii-{seed}")
    others = [k for k in ISSUES if k != surge_issue]
    records, labels = [], {}
    for i in range(n):
        r = rng.random()
        kind = (
            surge_issue
            if r < surge_share
            else rng.choice(others)
            if r < surge_share + 0.2
            else rng.choice(("praise", "neutral"))
        )
        source = rng.choice(SOURCES)
        message_id = f"inc-{seed}-{i:06d}"
        message = _message(rng, kind, source, message_id, now - timedelta(seconds=rng.uniform(0, 3600)))
        _add_contact(pii_rng, message, pii_rate, pii if pii is not None else [])
        records.append(SyntheticRecord(topic_of_source(source), json.dumps(message).encode(), kind, message_id))
        labels[message_id] = kind
    return records, labels


def topic_issues(labels: dict[str, str], message_topics: list[dict]) -> dict[int, str]:
    """The ground-truth kind most of each topic's messages have (``message_id``/``topic_id`` rows)."""
    votes: dict[int, Counter] = {}
    for row in message_topics:
        kind = labels.get(row["message_id"])
        if kind is not None:
            votes.setdefault(row["topic_id"], Counter())[kind] += 1
    return {topic: counter.most_common(1)[0][0] for topic, counter in votes.items()}
