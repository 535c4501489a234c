"""The election as markdown tables, for Dagster metadata, the CLI and reports. Pure."""

from __future__ import annotations

import json

import pandas as pd


def top_reasons_markdown(elections: pd.DataFrame) -> str:
    """The elected reasons as a markdown table (for Dagster metadata and the CLI)."""
    elected = elections[elections["elected"]].sort_values("rank")
    if elected.empty:
        return "_no reason elected this week_"
    lines = ["| rank | reason | dissatisfied | share | reason_id |", "|---:|---|---:|---:|---|"]
    lines += [
        f"| {r.rank} | {r.label} | {r.message_count} | {r.share:.1%} | `{r.reason_id}` |" for r in elected.itertuples()
    ]
    return "\n".join(lines)


def explanation_markdown(elections: pd.DataFrame, max_rows: int = 12) -> str:
    """Every candidate (up to ``max_rows``) with its count, change, sources, examples and verdict."""
    if elections.empty:
        return "_no candidates_"
    lines = [
        "| rank | reason | label | count | share | last week | change | sources | examples | verdict |",
        "|---:|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in elections.sort_values("rank").head(max_rows).itertuples():
        prev = "" if pd.isna(r.previous_count) else int(r.previous_count)
        change = "" if pd.isna(r.count_change) else f"{int(r.count_change):+d}"
        sources = ", ".join(f"{k} {v}" for k, v in json.loads(r.sources or "{}").items())
        examples = ", ".join(
            f"`{m}`" for m in (list(r.example_message_ids) if r.example_message_ids is not None else [])
        )
        lines.append(
            f"| {r.rank} | `{r.reason_id}` | {r.label} | {r.message_count} | {r.share:.1%} | {prev} | "
            f"{change} | {sources} | {examples} | {r.why} |"
        )
    return "\n".join(lines)
