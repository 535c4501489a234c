"""Is it right on my data? A labelled sample (``reasons/labelled.py``) through the weekly steps in memory,
week by week (:func:`reasons.evaluation.evaluate_grains`: fit, register, elect, then the next week streamed
as the alert job would), and what a team reads of it: a per-week table (:func:`week_table`) and a report,
Markdown and a self-contained HTML page with the weekly report's charts (:func:`build_evaluation_report`).
``reasonlake evaluate`` and ``bench/quality.py`` both run :func:`evaluate_sample`. Pure apart from writing
the charts and the report (no Dagster).

Dissatisfaction: with a complaint column (``LabelledSample.has_complaints``) the pipeline's own verdict
(:func:`reasons.sentiment.score_messages`) drives the fit, the election and the alerts, and the column only
grades it; without one every row is a complaint.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reasons.election.plots import election_chart, plt, topics_over_time_chart
from reasons.election.policy import ElectionPolicy
from reasons.election.weekly_report import Report, embedded_chart, page_head
from reasons.evaluation import WeekQuality, evaluate_grains, summary
from reasons.labelled import LabelledSample
from reasons.registry.model import RegistryParams
from reasons.sentiment import DissatisfactionModel, DissatisfactionRule, binary_metrics, score_messages
from reasons.topics.params import TopicModelParams

NO_COMPLAINT_COLUMN = "no complaint column: every row counts as a complaint"
MAX_ELECTION_CHARTS = 12  # the latest weeks' election charts in a report


@dataclass(frozen=True)
class SampleEvaluation:
    """What :func:`evaluate_sample` measured: per grain one :class:`WeekQuality` per week but the last; every
    week's election rows (every candidate); per week (and ``"all"``) the pipeline's dissatisfaction verdict
    against the complaint column (empty where the verdict was not run)."""

    sample: LabelledSample
    grains: dict[str, list[WeekQuality]]
    elections: pd.DataFrame
    dissatisfaction: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def weeks(self) -> list[WeekQuality]:
        """The weeks counted on the sample's own labels (the first grain)."""
        return next(iter(self.grains.values()))


def evaluate_sample(
    sample: LabelledSample,
    embeddings: np.ndarray,
    policy: ElectionPolicy,
    *,
    params: TopicModelParams = TopicModelParams(),
    registry: RegistryParams = RegistryParams(),
    stop_words: Sequence[str] = (),
    embed: Callable[[list[str]], np.ndarray] | None = None,
    judge: bool | None = None,
    model: DissatisfactionModel | None = None,
    rule: DissatisfactionRule | None = None,
    grains: Mapping[str, Mapping[str, str] | None] | None = None,
    no_reason: Collection[str] = (),
    log: Callable[[str], None] = lambda _: None,
) -> SampleEvaluation:
    """``sample``'s weeks fitted, registered, elected and streamed (``embeddings``: its texts' raw embeddings,
    row for row) under ``policy``. ``judge`` (default: where the sample has a complaint column) runs the
    pipeline's dissatisfaction verdict (``model``, ``rule``: the committed classifier and rule by default) for
    the pipeline to act on; the sample's ``dissatisfied`` then only grades. ``grains``: label mappings as
    :func:`evaluate_grains` takes them (default: the labels as they are, named ``labels``)."""
    frame = sample.frame
    if len(embeddings) != len(frame):
        raise ValueError(f"{len(embeddings)} embeddings for {len(frame)} rows")
    dissatisfaction: dict[str, dict[str, float]] = {}
    if sample.has_complaints if judge is None else judge:
        scored = score_messages(frame[["text"]], embeddings, rule, model)
        frame = frame.assign(predicted=scored["dissatisfied"].to_numpy(), alerting=scored["alertable"].to_numpy())
        for week, part in frame.groupby("week"):
            dissatisfaction[str(week)] = binary_metrics(part["dissatisfied"], part["predicted"])
        dissatisfaction["all"] = binary_metrics(frame["dissatisfied"], frame["predicted"])
    elections: list[pd.DataFrame] = []
    counted = evaluate_grains(
        frame,
        embeddings,
        policy,
        grains or {"labels": None},
        params,
        registry,
        stop_words=stop_words,
        log=log,
        embed=embed,
        no_reason=no_reason,
        on_election=elections.append,
    )
    history = pd.concat(elections, ignore_index=True) if elections else pd.DataFrame()
    return SampleEvaluation(sample=sample, grains=counted, elections=history, dissatisfaction=dissatisfaction)


def _figure(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


HEADER = (
    "week",
    "messages",
    "topics",
    "reasons",
    "top-3 hits",
    "alerts",
    "alert precision",
    "alert recall",
    "alerts on no complaint",
    "dissatisfaction P/R",
    "NMI",
    "ARI",
    "purity",
    "labels naming the issue",
)


def week_rows(evaluation: SampleEvaluation, grain: str | None = None) -> list[tuple[str, ...]]:
    """One row of :data:`HEADER` per evaluated week (``grain``: default the first). Alerts are on the next
    week's messages, streamed through the week's model; "-" where a figure has nothing to count."""
    rows: list[tuple[str, ...]] = []
    complaints = evaluation.sample.has_complaints
    for q in evaluation.grains[grain] if grain else evaluation.weeks:
        judged = evaluation.dissatisfaction.get(q.week) if complaints else None
        rows.append(
            (
                q.week,
                str(q.messages),
                str(q.topics),
                str(q.reasons),
                f"{q.hits}/{len(q.truth)}",
                str(q.alerts),
                _figure(q.alert_precision),
                _figure(q.alert_recall),
                _figure(q.alerts_not_complaining) if complaints else "-",
                f"{judged['precision']:.2f}/{judged['recall']:.2f}" if judged else "-",
                _figure(q.nmi),
                _figure(q.ari),
                _figure(q.purity),
                _figure(q.reason_naming),
            )
        )
    return rows


def top3_lines(weeks: Sequence[WeekQuality]) -> list[str]:
    """Per week, its true top-3 labels, each marked ``[x]`` when an elected reason stands for it (is the
    majority label of its dissatisfied messages), ``[ ]`` when none does."""
    return [
        f"{q.week}: " + "; ".join(f"[{'x' if label in q.elected else ' '}] {label}" for label in q.truth) for q in weeks
    ]


def week_table(evaluation: SampleEvaluation, grain: str | None = None) -> str:
    """The per-week table as fixed-width text (what ``reasonlake evaluate`` prints), then each week's true
    top 3 (:func:`top3_lines`)."""
    rows = [HEADER, *week_rows(evaluation, grain)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths))) for r in rows
    ]
    weeks = evaluation.grains[grain] if grain else evaluation.weeks
    return "\n".join(
        [*lines, "", "true top 3 of each week ([x]: an elected reason stands for it):", *top3_lines(weeks)]
    )


def notes(evaluation: SampleEvaluation) -> list[str]:
    """What the reader decided and how to read the figures (said at the top of the report)."""
    sample = evaluation.sample
    out = list(sample.notes)
    if sample.has_complaints:
        overall = evaluation.dissatisfaction.get("all")
        if overall:
            out.append(
                "complaint column: the pipeline's dissatisfaction verdict chose what was fitted, elected and "
                f"alerted on; against the column it has precision {overall['precision']:.2f}, recall "
                f"{overall['recall']:.2f}"
            )
    out.append(
        "alerts: each week's model streams the next week's messages as the alert job would; an alert is right when "
        "the message's own label is the majority label of the reason it was alerted for (strict)"
    )
    out.append(
        "labels naming the issue: the share of the week's reasons whose label shares a word with the majority label "
        "of their complaining messages (seeded reasons, reasons.yaml, carry your own names)"
    )
    return out


def quality_chart(weeks: Sequence[WeekQuality], path: Path) -> Path:
    """Lines per week: the share of the true top 3 elected, alert precision and recall, purity, NMI."""
    x = [q.week for q in weeks]
    series = {
        "true top 3 elected": [q.hits / max(len(q.truth), 1) for q in weeks],
        "alert precision": [np.nan if q.alert_precision is None else q.alert_precision for q in weeks],
        "alert recall": [np.nan if q.alert_recall is None else q.alert_recall for q in weeks],
        "reason purity": [q.purity for q in weeks],
        "NMI of topics": [q.nmi for q in weeks],
    }
    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        for name, values in series.items():
            ax.plot(x, values, marker="o", label=name)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("week")
        ax.set_title("Quality per week against the labels")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        return path
    finally:
        plt.close(fig)


def charts(evaluation: SampleEvaluation, folder: Path, name: str) -> dict[str, Path]:
    """Title → PNG under ``folder``: the quality per week, the reasons over time and the latest
    :data:`MAX_ELECTION_CHARTS` weeks' election charts (those of the weekly report, ``reasons/election/plots.py``)."""
    out = {"Quality per week": quality_chart(evaluation.weeks, folder / f"{name}-quality.png")}
    history = evaluation.elections
    if len(history):
        out["Elected reasons over time"] = topics_over_time_chart(history, folder / f"{name}-reasons-over-time.png")
        for week in sorted(history["week"].unique())[-MAX_ELECTION_CHARTS:]:
            out[f"Election {week}"] = election_chart(history[history["week"] == week], folder / f"{name}-{week}.png")
    return out


def _elected(q: WeekQuality) -> list[str]:
    return [
        f"{label} (stands for {issue}, {share:.0%} of its dissatisfied messages)"
        for label, issue, share in zip(q.elected_labels, q.elected, q.elected_majority_share)
    ]


def build_evaluation_report(evaluation: SampleEvaluation, charts_of: Mapping[str, Path], name: str) -> Report:
    """The report (``Report.week`` is ``name``, the file name ``write_report`` gives it): notes, the summary,
    the per-week table, each week's true top 3 and elected reasons, the charts (embedded in the HTML as
    base64 PNG, linked from the Markdown by file name under ``charts/``)."""
    sample, weeks = evaluation.sample, evaluation.weeks
    title = f"Is it right on my data? {Path(sample.source).name}"
    said = notes(evaluation)
    if not sample.has_complaints and NO_COMPLAINT_COLUMN not in said:
        said.insert(0, NO_COMPLAINT_COLUMN)
    total = summary(weeks)
    means = (
        f"{len(weeks)} weeks evaluated of {len(sample.frame)} messages: on average {total['mean_hits']:.2f} of the "
        f"true top 3 elected, alert precision {_figure(total['alert_precision'])}, recall "
        f"{_figure(total['alert_recall'])}, reason purity {_figure(total['purity'])}, NMI {_figure(total['nmi'])}."
    )
    rows = week_rows(evaluation)
    md = [f"# {title}", "", means, "", *[f"- {n}" for n in said], "", "## Per week", ""]
    md += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md.append("")
    h = [
        *page_head(title, "body{max-width:70em}.hit{color:#2ca02c}.miss{color:#d62728}"),
        f"<h1>{html.escape(title)}</h1><p>{html.escape(means)}</p><ul>",
        *[f"<li>{html.escape(n)}</li>" for n in said],
        "</ul><h2>Per week</h2><table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in HEADER) + "</tr>",
        *[
            "<tr>" + "".join(f"<td{' class=n' if i else ''}>{html.escape(c)}</td>" for i, c in enumerate(r)) + "</tr>"
            for r in rows
        ],
        "</table>",
    ]
    for q in weeks:
        md += [f"## {q.week}", "", "True top 3 (most frequent labels of the dissatisfied messages):", ""]
        md += [f"- {'elected' if t in q.elected else 'NOT elected'}: {t}" for t in q.truth]
        elected = [f"{i}. {e}" for i, e in enumerate(_elected(q), 1)] or ["_none elected_"]
        md += ["", "Elected reasons:", "", *elected, ""]
        h.append(
            f"<h2>{html.escape(q.week)}</h2><p>True top 3 (most frequent labels of the dissatisfied messages):</p><ul>"
        )
        h += [
            f"<li class={'hit' if t in q.elected else 'miss'}>{'elected' if t in q.elected else 'NOT elected'}: "
            f"{html.escape(t)}</li>"
            for t in q.truth
        ]
        h.append(
            "</ul><p>Elected reasons:</p><ol>" + "".join(f"<li>{html.escape(e)}</li>" for e in _elected(q)) + "</ol>"
        )
    for chart, path in charts_of.items():
        md += [f"![{chart}](charts/{path.name})", ""]
        h.append(embedded_chart(chart, path))
    h.append("</body></html>")
    return Report(week=name, markdown="\n".join(md), html="\n".join(h))
