"""PNG charts of the elections (matplotlib, Agg backend). Pure, no Dagster."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from reasons.topics.params import OUTLIER


def election_chart(elections: pd.DataFrame, path: Path, max_bars: int = 15) -> Path:
    """Horizontal bars: dissatisfied messages per candidate topic of one week, elected ones highlighted."""
    frame = elections[elections["topic_id"] != OUTLIER].sort_values("rank").head(max_bars)
    week = str(elections["week"].iloc[0]) if len(elections) else "?"
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(frame), 3) + 1.2))
    try:
        colors = ["#d62728" if e else "#9e9e9e" for e in frame["elected"]]
        ax.barh(range(len(frame)), frame["message_count"], color=colors)
        ax.set_yticks(range(len(frame)), [f"#{r} {lbl}" for r, lbl in zip(frame["rank"], frame["label"])])
        ax.invert_yaxis()
        for i, (count, share) in enumerate(zip(frame["message_count"], frame["share"])):
            ax.text(count, i, f" {count} ({share:.0%})", va="center", fontsize=8)
        ax.set_xlabel("dissatisfied messages")
        ax.set_title(f"Election {week}: red = elected")
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)


def topics_over_time_chart(history: pd.DataFrame, path: Path, until_week: str | None = None) -> Path:
    """Share of each week's dissatisfied messages per reason elected in any week, over the weeks of
    ``history`` (rows of ``ml.elections``) up to ``until_week``. One line per stable ``reason_id`` (a
    label follows each week's keywords), named by its label in the latest week; a reason absent from a
    week has no point that week."""
    shares = reason_shares(history, until_week)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        for label in shares.columns:
            ax.plot(shares.index, shares[label], marker="o", label=label)
        ax.set_ylabel("share of dissatisfied messages")
        ax.set_xlabel("ISO week")
        ax.set_title("Elected reasons over time")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        if len(shares.columns):
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)


def reason_shares(history: pd.DataFrame, until_week: str | None = None) -> pd.DataFrame:
    """Week × reason share table of the reasons elected in any week up to ``until_week``: pivoted on the
    stable ``reason_id``, the columns named by each reason's label in its latest week."""
    if until_week is not None and len(history):
        history = history[history["week"] <= until_week]
    elected = sorted(history.loc[history["elected"], "reason_id"].unique()) if len(history) else []
    if not elected:
        return pd.DataFrame()
    weeks = sorted(history["week"].unique())
    shares = (
        history[history["reason_id"].isin(elected)]
        .pivot_table(index="week", columns="reason_id", values="share", aggfunc="sum")
        .reindex(index=weeks, columns=elected)
    )
    latest = history.sort_values("week").groupby("reason_id")["label"].last()
    return shares.rename(columns=lambda reason_id: f"{latest[reason_id]} ({reason_id})")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
