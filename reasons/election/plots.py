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


def topics_over_time_chart(history: pd.DataFrame, path: Path) -> Path:
    """Share of each week's dissatisfied messages, per label elected in any week, over the weeks of ``history``
    (rows of ``ml.elections``). Labels are per weekly model until the reason registry exists, so a label
    absent from a week's model has no point that week (not 0: the issue may exist under another label)."""
    weeks = sorted(history["week"].unique()) if len(history) else []
    elected_labels = sorted(history.loc[history["elected"], "label"].unique()) if len(history) else []
    shares = (
        (
            history[history["label"].isin(elected_labels)]
            .pivot_table(index="week", columns="label", values="share", aggfunc="sum")
            .reindex(index=weeks, columns=elected_labels)
        )
        if elected_labels
        else pd.DataFrame()
    )
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


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
