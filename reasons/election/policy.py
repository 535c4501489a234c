"""The weekly election of the top reasons customers are unhappy. Pure, no Dagster.

Every registry reason of the week's model is a candidate: the messages of all its topics (the
registry groups close sub-topics of one issue under one ``reason_id``; without registry ids every
topic is its own candidate). A candidate's ``topic_id`` is its topic with the most dissatisfied
messages. Its score is its dissatisfied messages weighted by source (``source_weights``, 1.0 when
unlisted); ``share`` is its part of the week's total score (outliers and ``not_a_reason`` included in
the total). Candidates are ranked by score (ties: more messages, then lower topic id). A candidate is
elected when ALL of these hold, checked in this order (the first failing rule is the ``why``):

1. it is a reason: the outlier topic (-1) and the topics the registry found no reason (``not_a_reason``:
   mostly satisfied messages, catch-alls, a little of everything) are listed last for the audit, never
   elected;
2. it ranks within ``top_k``;
3. at least ``min_count`` dissatisfied messages;
4. at least ``min_share`` of the week's score;
5. optional growth: ``min_growth`` set → count ≥ last week's count × (1 + min_growth)
   (a reason absent last week grows from 0);
6. optional persistence: ``min_age_weeks`` set → the reason was born at least that many weeks
   before (counting this week), so a one-week blip of a brand-new reason waits a week.

The policy lives in versioned configuration (``policy.yaml`` beside this module, key
``policy_version``); every election row records the version it was decided under.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).with_name("policy.yaml")


@dataclass(frozen=True)
class ElectionPolicy:
    top_k: int = 3
    min_count: int = 5
    min_share: float = 0.03
    min_growth: float | None = None
    min_age_weeks: int | None = None
    source_weights: tuple[tuple[str, float], ...] = ()
    examples: int = 3  # example message ids kept per candidate
    valid_weeks: int = 2  # a published election goes stale this many weeks after its week ended
    policy_version: str = "builtin"

    def weight(self, source: str) -> float:
        return dict(self.source_weights).get(source, 1.0)


@dataclass(frozen=True)
class PromotionGates:
    """Blocking checks between the election (shadow) and Feast (live). None switches a gate off."""

    max_outlier_share: float | None = 0.25  # of the week's messages
    min_covered_share: float | None = 0.4  # of dissatisfied messages in a reason (no outlier, catch-all)
    max_new_reason_share: float | None = 0.6  # of non-outlier messages in reasons born this week (not on week 1)
    min_stream_batch_agreement: float | None = 0.9  # of non-outlier messages (a warning check, not a gate)


class PolicyError(ValueError):
    """The policy file is unreadable or holds a value of the wrong type; one line naming the key."""


_SHARES = ("min_share", "max_outlier_share", "min_covered_share", "max_new_reason_share", "min_stream_batch_agreement")


def load_policy(path: Path | str | None = None) -> tuple[ElectionPolicy, PromotionGates]:
    """The policy and gates of a YAML file (default: ``policy.yaml`` beside this module).

    Every value is type-checked (pydantic): a wrong type or range raises :class:`PolicyError`
    naming the file, the key and what it accepts.
    """
    import yaml
    from pydantic import TypeAdapter, ValidationError

    path = Path(path) if path is not None else POLICY_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read the election policy ({exc})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping of policy keys, got {type(data).__name__}")
    if "policy_version" not in data:
        raise PolicyError(f"{path}: policy_version is required")
    gates = data.pop("gates", None) or {}
    weights = data.pop("source_weights", None) or {}
    if not isinstance(gates, dict) or not isinstance(weights, dict):
        raise PolicyError(f"{path}: gates and source_weights must be mappings")
    unknown = (set(data) - {f.name for f in fields(ElectionPolicy)}) | {
        f"gates.{k}" for k in set(gates) - {f.name for f in fields(PromotionGates)}
    }
    if unknown:
        raise PolicyError(f"{path}: unknown keys {sorted(unknown)}")
    data["policy_version"] = str(data["policy_version"])

    def check(kind: Any, value: Any, prefix: str) -> Any:
        try:
            return TypeAdapter(kind).validate_python(value)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = prefix + ".".join(str(p) for p in error["loc"])
            raise PolicyError(f"{path}: {key}={error.get('input')!r} is not valid: {error['msg']}") from None

    weights = check(dict[str, float], weights, "source_weights.")
    policy = check(ElectionPolicy, {**data, "source_weights": tuple(sorted(weights.items()))}, "")
    promotion = check(PromotionGates, gates, "gates.")
    for name in _SHARES:
        value = getattr(policy, name, None) if hasattr(policy, name) else getattr(promotion, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise PolicyError(f"{path}: {name}={value!r} is not valid: a share between 0 and 1")
    if policy.top_k < 1 or policy.min_count < 0 or policy.examples < 0 or policy.valid_weeks < 1:
        raise PolicyError(f"{path}: top_k and valid_weeks must be at least 1, min_count and examples at least 0")
    return policy, promotion
