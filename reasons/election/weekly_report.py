"""The weekly report people read: ``<home>/reports/<week>.md`` and ``.html``. Pure apart from writing
the two files (no Dagster): the election asset writes it, ``reasonlake weekly`` and
``reasonlake report --week`` print it.

What it holds: the week's elected reasons with their dissatisfied-message count, share, change
against last week and per-source split; up to three example messages each (the redacted text of the
marts); the election chart and the reasons-over-time chart (embedded in the HTML, linked from the
markdown).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class NoElectionError(LookupError):
    """The week has no rows in ``ml.elections`` yet (its weekly run has not elected)."""


@dataclass(frozen=True)
class Report:
    week: str
    markdown: str
    html: str


def _change(row) -> str:
    if pd.isna(row.previous_count):
        return "new"
    return f"{int(row.count_change):+d} (was {int(row.previous_count)})"


def _sources(row) -> str:
    split = json.loads(row.sources or "{}")
    return ", ".join(f"{source} {count}" for source, count in sorted(split.items(), key=lambda kv: -kv[1]))


def _examples(row, texts: dict[str, str], limit: int = 3) -> list[str]:
    ids = list(row.example_message_ids) if row.example_message_ids is not None else []
    return [" ".join(texts[i].split())[:300] for i in ids if i in texts][:limit]


QUIET = "Too loose to alert on this week: elected for its count, but its messages are a little of everything, so no alert names it."


def build_report(
    elections: pd.DataFrame, texts: dict[str, str], charts: dict[str, Path], quiet: Collection[str] = ()
) -> Report:
    """The report of one week's ``ml.elections`` rows; ``texts``: message id → (redacted) text of the
    examples; ``charts``: title → PNG; ``quiet``: reason ids too loose to alert on this week (the
    registry's ``quiet`` events)."""
    week = str(elections["week"].iloc[0]) if len(elections) else "?"
    elected = elections[elections["elected"]].sort_values("rank")
    dissatisfied = int(elections["message_count"].sum())
    title = f"Why customers were unhappy: week {week}"
    summary = (
        f"{dissatisfied} dissatisfied messages; {len(elected)} reason(s) elected "
        f"(model {elections['model_version'].iloc[0] if len(elections) else '?'})."
    )
    md = [f"# {title}", "", summary, ""]
    if elected.empty:
        md += ["_No reason was elected this week._", ""]
    else:
        md += ["| # | reason | dissatisfied | share | change vs last week | sources |", "|---:|---|---:|---:|---|---|"]
        md += [
            f"| {r.rank} | {r.label} | {r.message_count} | {r.share:.1%} | {_change(r)} | {_sources(r)} |"
            for r in elected.itertuples()
        ]
        md.append("")
        for r in elected.itertuples():
            md += [f"## #{r.rank} {r.label}", "", f"`{r.reason_id}`: {r.why}", ""]
            md += [f"_{QUIET}_", ""] if r.reason_id in quiet else []
            md += [f"> {text}" + "\n" for text in _examples(r, texts)]
    for name, path in charts.items():
        md += [f"![{name}]({path.as_uri()})", ""]

    h = [
        *page_head(title, "blockquote{color:#555;border-left:3px solid #d62728;margin-left:0;padding-left:1em}"),
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>",
    ]
    if elected.empty:
        h.append("<p><em>No reason was elected this week.</em></p>")
    else:
        h.append(
            "<table><tr><th>#</th><th>reason</th><th>dissatisfied</th><th>share</th>"
            "<th>change vs last week</th><th>sources</th></tr>"
        )
        h += [
            f"<tr><td class=n>{r.rank}</td><td>{html.escape(r.label)}</td><td class=n>{r.message_count}</td>"
            f"<td class=n>{r.share:.1%}</td><td>{html.escape(_change(r))}</td><td>{html.escape(_sources(r))}</td></tr>"
            for r in elected.itertuples()
        ]
        h.append("</table>")
        for r in elected.itertuples():
            h.append(f"<h2>#{r.rank} {html.escape(r.label)}</h2><p><code>{html.escape(r.reason_id)}</code>: ")
            h.append(f"{html.escape(r.why)}</p>")
            h += [f"<p><em>{html.escape(QUIET)}</em></p>"] if r.reason_id in quiet else []
            h += [f"<blockquote>{html.escape(text)}</blockquote>" for text in _examples(r, texts)]
    h += [embedded_chart(name, path) for name, path in charts.items() if path.exists()]
    h.append("</body></html>")
    return Report(week=week, markdown="\n".join(md), html="\n".join(h))


def page_head(title: str, style: str = "") -> list[str]:
    """The head of a self-contained report page (the weekly report's, the evaluation's): ``style`` adds rules."""
    return [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}td.n{text-align:right}"
        f"{style}</style></head><body>",
    ]


def embedded_chart(name: str, path: Path) -> str:
    """A chart as a titled image embedded in the page (base64 PNG): the page stands alone."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"


def write_report(report: Report, reports_dir: Path) -> tuple[Path, Path]:
    """``<reports_dir>/<week>.md`` and ``.html`` (replaced when the week is materialized again)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    md, page = reports_dir / f"{report.week}.md", reports_dir / f"{report.week}.html"
    md.write_text(report.markdown)
    page.write_text(report.html)
    return md, page
