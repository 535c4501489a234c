"""The live reasons: the promoted topic model and its published election, swapped together. Its I/O is
passed in (the model pointer and loader, the online store; :class:`LiveWatcher`), apart from the committed
dissatisfaction model it reads when none is given.

Both streaming consumers of the weekly result, the alert job and the classify API, judge messages
against one :class:`LiveReasons` at a time: the model ``CURRENT.json`` points at, and the election of
*that* model as the online store publishes it. A :class:`LiveWatcher` polls both every
``poll_s`` seconds and swaps them together, between micro-batches, only once the online store holds
the new model's election (a promotion in progress keeps the old pair live): no message is ever
judged by one model with another model's election, and no restart is needed.

When the online store cannot be read (missing, corrupt, unreachable), the watcher keeps the last
pair it knew and says so once; an election past its ``valid_until`` is *stale*: its reasons still
classify messages, but none of them is elected any more (no alert, no "elected" from the API).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from reasons.embedding.vectors import Embedder, embed
from reasons.sentiment import (
    DissatisfactionModel,
    DissatisfactionRule,
    is_alertable,
    is_dissatisfied,
    load_model,
    sentiment,
)

log = logging.getLogger(__name__)


class Assignment(Protocol):
    @property
    def topic_id(self) -> int: ...  # -1 = outlier

    @property
    def similarity(self) -> float: ...


class TopicModel(Protocol):
    """What the live reasons need of a :class:`reasons.topics.artifact.TopicArtifact`."""

    @property
    def model_version(self) -> str: ...

    @property
    def week(self) -> str: ...

    @property
    def embedder(self) -> Embedder: ...

    def assign(self, texts: list[str]) -> Sequence[Assignment]: ...

    def assign_embeddings(self, embeddings: np.ndarray) -> Sequence[Assignment]: ...

    def alert_similarity(self, topic_id: int) -> float: ...

    def label(self, topic_id: int) -> str: ...

    def reason_id(self, topic_id: int) -> str: ...

    def reason_ids(self) -> list[str]: ...


class ElectionLookup(Protocol):
    """What the live reasons need of the online store (``feature_repo.online.ReasonLookup``)."""

    def get(self, reason_ids: list[str]) -> Mapping[str, Mapping[str, Any] | None]: ...


class NoLiveModelError(RuntimeError):
    """No topic model has been promoted yet: run a week first (``reasonlake weekly``)."""


@dataclass(frozen=True)
class Verdict:
    """What the live reasons say of one message."""

    dissatisfied: bool
    sentiment: float  # VADER compound
    dissatisfaction: float  # P(dissatisfied) of the text (a rating, where there is one, still decides)
    topic_id: int  # -1: no reason's topic is close enough (or not classified: satisfied)
    reason_id: str | None
    label: str | None
    similarity: float
    elected: bool  # in the live election (an alert also needs it not stale)
    stale: bool  # the live election is past its valid_until
    model_version: str
    week: str  # of the live election
    # within its topic's core: cosine to the centroid at least the topic's alert similarity (the fit's
    # quantile of its own members' cosines); a message on a topic's fringe is classified but raises no alert,
    # nor does any message of a reason the registry found too loose to alert on (``alerts: false`` topics)
    core: bool = True
    # dissatisfied surely enough to alert (``reasons.sentiment.is_alertable``: its rating, or P(dissatisfied)
    # at least the rule's alert threshold); a message counted dissatisfied on a closer call raises no alert
    sure: bool = True

    @property
    def alerts(self) -> bool:
        """Whether this message raises an alert: surely dissatisfied, within an elected reason's core, not stale."""
        return bool(
            self.dissatisfied and self.sure and self.elected and self.core and not self.stale and self.reason_id
        )


@dataclass(frozen=True)
class LiveReasons:
    """One promoted model with its own published election (reason id -> online features).

    :meth:`classify` embeds every message of a micro-batch once, with the model's embedder: the
    dissatisfaction classifier (``dissatisfaction``, default the committed one of
    :mod:`reasons.sentiment`) reads those embeddings, and only the dissatisfied messages' embeddings
    are assigned to a topic (a happy message never matches a reason to be unhappy).
    """

    model: TopicModel
    path: Path
    election: Mapping[str, Mapping[str, Any]]
    loaded_at: float = field(default_factory=time.time)
    dissatisfaction: DissatisfactionModel | None = None

    @property
    def model_version(self) -> str:
        return self.model.model_version

    @property
    def week(self) -> str:
        weeks = {str(f["week"]) for f in self.election.values() if f.get("week")}
        return weeks.pop() if len(weeks) == 1 else self.model.week

    @property
    def valid_until(self) -> datetime | None:
        stamps = [_utc(f["valid_until"]) for f in self.election.values() if f.get("valid_until") is not None]
        return min(stamps) if stamps else None

    def stale(self, now: datetime) -> bool:
        until = self.valid_until
        return until is not None and now > until

    def elected(self) -> list[dict[str, Any]]:
        """The elected reasons of the live election, by rank."""
        rows = [{"reason_id": r, **f} for r, f in self.election.items() if f.get("elected")]
        return sorted(rows, key=lambda r: (r.get("rank") or 0, r["reason_id"]))

    def classify(
        self, texts: Sequence[str], ratings: Sequence[int | None], rule: DissatisfactionRule, now: datetime
    ) -> list[Verdict]:
        """A verdict per message: all of them embedded in one batch, dissatisfaction scored from those
        embeddings, the dissatisfied ones assigned to a topic."""
        texts = [str(t) for t in texts]
        if not texts:
            return []
        emb = embed(self.model.embedder, texts)
        scores = [sentiment(t) for t in texts]
        probability = (self.dissatisfaction or load_model()).score_texts(texts, emb, scores)
        unhappy = [is_dissatisfied(r, p, rule) for r, p in zip(ratings, probability)]
        sure = [is_alertable(r, p, rule) for r, p in zip(ratings, probability)]
        todo = [i for i, u in enumerate(unhappy) if u]
        assigned = dict(zip(todo, self.model.assign_embeddings(emb[todo]))) if todo else {}
        stale = self.stale(now)
        out = []
        for i in range(len(texts)):
            a = assigned.get(i)
            topic = int(a.topic_id) if a is not None else -1
            rid = self.model.reason_id(topic) if topic >= 0 else None
            features = self.election.get(rid) if rid else None
            label = (
                str(features.get("label") or self.model.label(topic))
                if features
                else (self.model.label(topic) if topic >= 0 else None)
            )
            out.append(
                Verdict(
                    dissatisfied=unhappy[i],
                    sentiment=scores[i],
                    dissatisfaction=float(probability[i]),
                    topic_id=topic,
                    reason_id=rid,
                    label=label,
                    similarity=float(a.similarity) if a is not None else 0.0,
                    elected=bool(features and features.get("elected")),
                    core=a is not None and topic >= 0 and a.similarity >= self.model.alert_similarity(topic),
                    sure=sure[i],
                    stale=stale,
                    model_version=self.model_version,
                    week=self.week,
                )
            )
        return out


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


@dataclass
class WatcherCounts:
    reloads: int = 0
    lookup_errors: int = 0


class LiveWatcher:
    """Keeps :class:`LiveReasons` up to date (see the module doc).

    ``pointer()`` gives the promoted model's folder (None before any promotion), ``load(path)`` the
    model, ``lookup`` the online store, ``dissatisfaction`` the classifier of the live reasons (None:
    the committed one). ``current(now)`` polls at most every ``poll_s`` seconds.
    """

    def __init__(
        self,
        pointer: Callable[[], Path | None],
        load: Callable[[Path], TopicModel],
        lookup: ElectionLookup,
        poll_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] = log.warning,
        dissatisfaction: DissatisfactionModel | None = None,
    ) -> None:
        self._pointer, self._load, self._lookup = pointer, load, lookup
        self._dissatisfaction = dissatisfaction  # None: the committed classifier
        self.poll_s = poll_s
        self._clock, self._say = clock, say
        self._polled_at: float | None = None
        self._live: LiveReasons | None = None
        self._told: set[str] = set()
        self._problem: str | None = None  # why there is nothing live yet
        self.counts = WatcherCounts()

    def current(self) -> LiveReasons:
        """The live reasons, refreshed when ``poll_s`` has passed; raises :class:`NoLiveModelError`
        while nothing was ever promoted."""
        now = self._clock()
        if self._live is None or self._polled_at is None or now - self._polled_at >= self.poll_s:
            self._polled_at = now
            self._refresh()
        if self._live is None:
            why = self._problem or "no topic model has been promoted yet: run a week first (reasonlake weekly)"
            raise NoLiveModelError(why)
        return self._live

    def _refresh(self) -> None:
        path = self._pointer()
        if path is None:
            return
        live = self._live
        try:
            model = live.model if live is not None and path == live.path else self._load(path)
        except Exception as exc:  # a corrupt or half-written artefact: keep what works
            self._tell(f"model:{path}", f"cannot load the promoted model {path} ({exc}); keeping the live one")
            return
        try:
            features = self._lookup.get(model.reason_ids())
        except Exception as exc:  # the online store is missing, corrupt or unreachable
            self.counts.lookup_errors += 1
            kept = f"keeping the election of {live.week} ({live.model_version})" if live else "no election yet"
            self._tell("lookup", f"online store unreadable ({type(exc).__name__}: {exc}); {kept}")
            return
        self._told.discard("lookup")
        election = {r: dict(f) for r, f in features.items() if f and f.get("model_version") == model.model_version}
        if not election and live is not None:
            return  # promotion in progress: the online store does not hold the new model's election yet
        fresh = LiveReasons(model=model, path=path, election=election, dissatisfaction=self._dissatisfaction)
        if live is None or (fresh.model_version, fresh.election) != (live.model_version, live.election):
            if live is not None:
                self.counts.reloads += 1
                self._say(
                    f"live reasons reloaded: {live.model_version} ({live.week}) -> "
                    f"{fresh.model_version} ({fresh.week}), {len(fresh.elected())} elected"
                )
            self._live = fresh

    def stale_notice(self, now: datetime | None = None) -> str | None:
        """A one-time message when the live election went stale (None otherwise or already said)."""
        live = self._live
        if live is None or not live.stale(now or datetime.now(UTC)):
            return None
        key = f"stale:{live.model_version}"
        if key in self._told:
            return None
        self._told.add(key)
        return (
            f"the live election of {live.week} ({live.model_version}) is stale since {live.valid_until}: "
            "no reason is elected until a newer week is promoted"
        )

    def _tell(self, key: str, message: str) -> None:
        self._problem = message
        if key not in self._told:
            self._told.add(key)
            self._say(message)
