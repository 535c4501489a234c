"""How good are the reasons on human-labelled data? Pure (the same steps as the weekly graph, in memory).

For each week but the last of a labelled corpus: fit the week (``fit_topics``), group and register its
topics (``reasons.registry.matching.update``, chained week to week), elect (``elect`` under the policy), then
stream the following week through the model as the alert job would (nearest topic, the topic's
alert similarity, elected reasons only). Each reason stands for the issue most of its dissatisfied
messages carry (its majority label). Measured per week:

- **top-3 hits**: how many of the week's true top-3 issues (most frequent labels among dissatisfied
  messages) are the majority label of an elected top-3 reason;
- **alert precision / recall** on the next week (strict): an alert is right when the message's own label
  (any of them, for a row with several joined by :data:`LABEL_SEPARATOR`) is the majority label of the
  reason it was alerted for; recall counts the next week's dissatisfied messages whose label some
  elected reason stands for; **alerts on messages that do not complain** (their ``dissatisfied`` is false);
- **dissatisfaction**: where ``frame`` has a ``predicted`` column (the pipeline's own verdict, e.g.
  :func:`reasons.sentiment.score_messages`), the fit, the registry, the election and the alerts read it, as
  the pipeline does, and ``dissatisfied`` (the human label) only grades them; without it both are the label;
  an ``alerting`` column, where present, says which messages the alert job may alert on (default: ``predicted``);
- **purity** (size-weighted majority share of the reasons), **NMI / ARI** of topics against labels;
- **reason naming**: the share of the week's reasons whose label names the majority label of their
  dissatisfied messages (:func:`reasons.naming.reason_naming`);
- **label naming**: the share of topics whose label names the topic's majority label (:func:`names_issue`,
  a shared content word), for the fit's labels and for plain keyword labels (the labels before phrases);
  **praise labels**: the share of elected reasons whose label reads as praise (VADER).

:func:`evaluate_grains` counts the same fits at several grains, e.g. labels mapped onto coarser families
(overlapping human labels such as CFPB's three credit-report issues).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import pandas as pd

from reasons.election.elect import covered_share, elect
from reasons.election.policy import ElectionPolicy
from reasons.embedding.vectors import coherence, normalize
from reasons.naming import LABEL_SEPARATOR, label_counts, label_naming, label_set, praise_share, reason_naming
from reasons.registry.candidates import group_threshold
from reasons.registry.matching import update as update_registry
from reasons.registry.model import NOT_A_REASON_ID, Reason, RegistryParams
from reasons.text import keyword_texts
from reasons.topics.artifact import TopicArtifact, artifact_meta
from reasons.topics.fit import fit_topics
from reasons.topics.params import TopicModelParams
from reasons.weekly.reason_ids import topics_in, with_reasons

COLUMNS = ("week", "text", "label", "dissatisfied")


@dataclass(frozen=True)
class WeekQuality:
    week: str
    messages: int
    topics: int
    reasons: int  # candidates that became reasons this week
    refused: int  # catch-all topics refused
    quiet: int  # reasons too loose to alert on (elected or not)
    group_threshold: float
    truth: tuple[str, ...]  # the true top-3 issues
    elected: tuple[str, ...]  # the majority issue of each elected reason, by rank
    elected_labels: tuple[str, ...]  # the elected reasons' labels, by rank
    hits: int  # true top-3 issues among the elected top-3's majority issues
    purity: float
    nmi: float
    ari: float
    alerts: int = 0
    label_naming: float = float("nan")  # share of topics whose label names their majority label
    # share of the week's reasons whose label names the majority label of their dissatisfied messages
    reason_naming: float = float("nan")
    keyword_label_naming: float = float("nan")  # the same for keyword labels
    alert_precision: float | None = None
    alert_recall: float | None = None
    # the share of the alerts that fell on messages the human label says do not complain
    alerts_not_complaining: float | None = None
    # the share of the elected reasons whose label reads as praise (VADER compound above 0.05: "good quality"
    # for a complaint about quality): a label that names the scene, not what went wrong
    praise_labels: float = float("nan")
    # per elected reason, by rank: its majority issue's share of its dissatisfied messages, and how close its
    # messages sit to their centre against the whole week's (:func:`week_relative_coherence`)
    elected_majority_share: tuple[float, ...] = ()
    elected_week_coherence: tuple[float, ...] = ()
    # the share of the week's dissatisfied messages in a reason: what the promotion gate ``covered_share`` reads
    covered: float = float("nan")


def evaluate_weeks(
    frame: pd.DataFrame,
    embeddings: np.ndarray,
    policy: ElectionPolicy,
    params: TopicModelParams = TopicModelParams(),
    registry: RegistryParams = RegistryParams(),
    stop_words: Sequence[str] = (),
    log: Callable[[str], None] = lambda _: None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> list[WeekQuality]:
    """One :class:`WeekQuality` per week of ``frame`` but the last (which only receives alerts), counted
    on ``frame``'s own labels: :func:`evaluate_grains` with one grain."""
    grains = {"labels": None}
    return evaluate_grains(frame, embeddings, policy, grains, params, registry, stop_words, log, embed)["labels"]


def evaluate_grains(
    frame: pd.DataFrame,
    embeddings: np.ndarray,
    policy: ElectionPolicy,
    grains: Mapping[str, Mapping[str, str] | None],
    params: TopicModelParams = TopicModelParams(),
    registry: RegistryParams = RegistryParams(),
    stop_words: Sequence[str] = (),
    log: Callable[[str], None] = lambda _: None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    no_reason: Collection[str] = (),
    on_election: Callable[[pd.DataFrame], None] | None = None,
) -> dict[str, list[WeekQuality]]:
    """Per grain, one :class:`WeekQuality` per week of ``frame`` but the last (which only receives alerts).

    ``frame`` has ``week``, ``text`` (what keywords come from, unless it has the cleaned ``text_modelling``
    of :func:`reasons.text.keyword_texts`), ``label`` (the human issue) and ``dissatisfied``; ``embeddings`` are its rows' raw embeddings in order. ``grains`` names label
    mappings (``None``: the labels as they are; a mapping: labels onto coarser families, unmapped ones
    kept): the weeks are fitted, registered and elected once, and counted at every grain. ``embed`` (the
    embedding model) re-ranks label phrases as the weekly fit does. Labels in ``no_reason`` (a labeller's
    "can't tell") are never among a week's true top 3. ``on_election`` receives each week's election rows
    (every candidate, as ``ml.elections`` holds them: the charts of ``reasons/evaluation_report.py``). As in the
    weekly graph, each election reads the one of the week before and the registry's birth weeks (the policy's
    ``min_growth`` and ``min_age_weeks``)."""
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}")
    frame = frame.reset_index(drop=True)
    labels = {g: frame["label"].map(lambda v, m=m: _mapped(v, m)) if m else frame["label"] for g, m in grains.items()}
    acted = frame["predicted"] if "predicted" in frame else frame["dissatisfied"]
    alerting = frame.get("alerting", acted)
    weeks = sorted(frame["week"].unique())
    known: list[Reason] = []
    previous: pd.DataFrame | None = None  # the election of the week before (the policy's growth rule reads it)
    out: dict[str, list[WeekQuality]] = {g: [] for g in grains}
    for week, following in pairwise(weeks):
        idx = np.flatnonzero(frame["week"].to_numpy() == week)
        nxt = np.flatnonzero(frame["week"].to_numpy() == following)
        truth_part = frame.iloc[idx].reset_index(drop=True)
        part = truth_part.assign(dissatisfied=acted.iloc[idx].to_numpy(dtype=bool))  # what the pipeline acts on
        fit = fit_topics(
            keyword_texts(part),
            embeddings[idx],
            params,
            stop_words=stop_words,
            embed=embed,
            label_rows=part["dissatisfied"].to_numpy(dtype=bool),
        )
        topics = topics_in(fit, part["dissatisfied"])
        update = update_registry(known, topics, week, registry)
        known = list(update.reasons)
        reason_of = update.reason_of()
        mt = part.assign(topic_id=fit.doc_topics, source="eval", message_id=part.index.astype(str))
        born = {r.reason_id: r.born_week for r in known}  # the policy's age rule reads them
        # as the weekly graph stores them: a topic is labelled with its reason's label (a seed's name)
        reason_labels = {r.reason_id: r.label for r in known}
        topic_labels = {t: reason_labels.get(reason_of.get(t, ""), label) for t, label in fit.labels().items()}
        candidates = elect(
            mt,
            topic_labels,
            policy,
            week,
            "eval",
            datetime.now(UTC),
            reason_ids=reason_of,
            previous=previous,
            born_weeks=born,
        )
        previous = candidates
        if on_election is not None:
            on_election(candidates)
        election = candidates.query("elected").sort_values("rank")
        elected_ids = list(election["reason_id"])
        meta = with_reasons(artifact_meta(fit, week, "eval"), update, reason_labels)
        model = TopicArtifact(path=None, meta=meta)  # type: ignore[arg-type]
        reason_ids = np.array([reason_of.get(int(t)) for t in fit.doc_topics], dtype=object)
        tightness = tuple(week_relative_coherence(embeddings[idx], reason_ids == r) for r in elected_ids)
        covered, _ = covered_share(part.assign(topic_id=fit.doc_topics, reason_id=reason_ids))
        for grain, label in labels.items():
            counted = truth_part.assign(label=label.iloc[idx].to_numpy())
            naming = label_naming(fit, counted["label"])
            counted = counted.assign(reason_id=reason_ids)
            majorities = _majorities(counted)
            issue_of = {r: issue for r, (issue, _) in majorities.items()}
            elected = tuple(issue_of.get(r, "?") for r in elected_ids)
            unhappy = counted[counted["dissatisfied"]]
            truth = true_top3(unhappy["label"], no_reason)
            quality = WeekQuality(
                week=week,
                messages=len(counted),
                topics=len(fit.topics),
                reasons=len({m.reason_id for m in update.mappings if m.reason_id != NOT_A_REASON_ID}),
                refused=update.count("refused"),
                quiet=update.count("quiet"),
                group_threshold=group_threshold(topics, registry),
                truth=truth,
                elected=elected,
                elected_labels=tuple(str(v) for v in election["label"]),
                praise_labels=praise_share(election["label"]),
                hits=len(set(elected[:3]) & set(truth)),
                **_cluster_scores(counted["label"], fit.doc_topics, reason_of),  # type: ignore[arg-type]
                label_naming=naming["labels"],
                reason_naming=reason_naming(reason_labels, {r: i for r, i in issue_of.items() if r in reason_labels}),
                keyword_label_naming=naming["keywords"],
                elected_majority_share=tuple(majorities.get(r, ("?", float("nan")))[1] for r in elected_ids),
                elected_week_coherence=tightness,
                covered=covered,
            )
            following_part = frame.iloc[nxt].assign(
                label=label.iloc[nxt].to_numpy(), acted=alerting.iloc[nxt].to_numpy()
            )
            quality = _alerts(quality, following_part, embeddings[nxt], model, reason_of, issue_of, set(elected_ids))
            log(_line(quality) if len(grains) == 1 else f"[{grain}] {_line(quality)}")
            out[grain].append(quality)
    return out


def _majorities(part: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """Reason id → the most frequent label among its dissatisfied messages, and that label's share of them."""
    unhappy = part[part["dissatisfied"].astype(bool) & part["reason_id"].notna()]
    out = {}
    for r, g in unhappy.groupby("reason_id"):
        label, count = label_counts(g["label"]).most_common(1)[0]
        out[str(r)] = (label, count / len(g))
    return out


def _mapped(value: object, mapping: Mapping[str, str]) -> str:
    """``value``'s labels mapped onto ``mapping``'s families (unmapped ones kept), each family once."""
    return LABEL_SEPARATOR.join(dict.fromkeys(mapping.get(v, v) for v in label_set(value)))


def week_relative_coherence(embeddings: np.ndarray, members: np.ndarray) -> float:
    """The mean cosine of the ``members`` rows of ``embeddings`` (a week's raw embeddings) to their centre,
    over the same for all the week's rows: about 1 for a group no tighter than the week itself (a little of
    everything), above it for a reason."""

    unit = normalize(np.asarray(embeddings))
    return coherence(unit[members]) / coherence(unit) if members.any() else float("nan")


def true_top3(labels: Iterable[str], no_reason: Collection[str] = ()) -> tuple[str, ...]:
    """The three most frequent of the dissatisfied messages' ``labels`` (ties: first seen; a row of several
    labels counts for each), none of ``no_reason``."""
    counts = label_counts(labels)
    return tuple(label for label, _ in Counter({k: n for k, n in counts.items() if k not in no_reason}).most_common(3))


def _cluster_scores(labels: pd.Series, topics: np.ndarray, reason_of: Mapping[int, str]) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    reasons = pd.Series([reason_of.get(int(t)) for t in topics])
    counted = reasons.notna() & (reasons != NOT_A_REASON_ID).to_numpy()
    frame = pd.DataFrame({"reason": reasons[counted].to_numpy(), "label": labels.to_numpy()[counted.to_numpy()]})
    majority = frame.groupby("reason")["label"].agg(lambda s: label_counts(s).most_common(1)[0][1]).sum()
    primary = labels.map(lambda v: label_set(v)[0])  # NMI and ARI need one label a row: its first
    return {
        "purity": float(majority / max(len(frame), 1)),
        "nmi": float(normalized_mutual_info_score(primary, topics)),
        "ari": float(adjusted_rand_score(primary, topics)),
    }


def _alerts(
    quality: WeekQuality,
    following: pd.DataFrame,
    embeddings: np.ndarray,
    model: TopicArtifact,
    reason_of: Mapping[int, str],
    issue_of: Mapping[str, str],
    elected: set[str],
) -> WeekQuality:
    """Stream the next week through ``model``: alerts, their precision and the recall of elected issues."""
    unhappy = following["dissatisfied"].to_numpy(dtype=bool)
    acted = following["acted"].to_numpy(dtype=bool) if "acted" in following else unhappy
    labels = [set(label_set(v)) for v in following["label"]]
    predicted = []
    for i, a in enumerate(model.assign_embeddings(embeddings)):
        rid = reason_of.get(a.topic_id) if a.topic_id >= 0 else None
        alerted = acted[i] and rid in elected and a.similarity >= model.alert_similarity(a.topic_id)
        predicted.append(issue_of.get(rid, "?") if alerted and rid is not None else None)
    alerts = [(p, t, u) for p, t, u in zip(predicted, labels, unhappy) if p is not None]
    covered = {issue_of.get(r) for r in elected}
    relevant = [(p, t) for p, t, u in zip(predicted, labels, unhappy) if u and t & covered]
    return replace(
        quality,
        alerts=len(alerts),
        alert_precision=float(np.mean([p in t for p, t, _ in alerts])) if alerts else None,
        alert_recall=float(np.mean([p in t for p, t in relevant])) if relevant else None,
        alerts_not_complaining=float(np.mean([not u for _, _, u in alerts])) if alerts else None,
    )


def _line(q: WeekQuality) -> str:
    precision = "-" if q.alert_precision is None else f"{q.alert_precision:.2f}"
    recall = "-" if q.alert_recall is None else f"{q.alert_recall:.2f}"
    return (
        f"{q.week}: {q.messages} msgs, {q.topics} topics → {q.reasons} reasons ({q.refused} refused, {q.quiet} quiet); "
        f"top-3 hits {q.hits}/3; purity {q.purity:.2f}, NMI {q.nmi:.2f}, ARI {q.ari:.2f}; in a reason {q.covered:.2f}; "
        f"next week {q.alerts} alerts, precision {precision}, recall {recall}"
        + (f", {q.alerts_not_complaining:.0%} on no complaint" if q.alerts_not_complaining else "")
    )


def summary(weeks: Sequence[WeekQuality]) -> dict[str, float]:
    """Means over the weeks (alert figures over the weeks that had alerts)."""

    def mean(values) -> float:
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else float("nan")

    return {
        "weeks": len(weeks),
        "mean_hits": mean(q.hits for q in weeks),
        "weeks_with_2_hits": sum(q.hits >= 2 for q in weeks),
        "weeks_all_3": sum(q.hits == 3 for q in weeks),
        "alert_precision": mean(q.alert_precision for q in weeks),
        "alert_recall": mean(q.alert_recall for q in weeks),
        "alerts_not_complaining": mean(q.alerts_not_complaining for q in weeks),
        "purity": mean(q.purity for q in weeks),
        "nmi": mean(q.nmi for q in weeks),
        "label_naming": mean(q.label_naming for q in weeks),
        "reason_naming": mean(q.reason_naming for q in weeks if not np.isnan(q.reason_naming)),
        "praise_labels": mean(q.praise_labels for q in weeks if not np.isnan(q.praise_labels)),
        "keyword_label_naming": mean(q.keyword_label_naming for q in weeks),
    }
