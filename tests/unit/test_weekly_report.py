"""The weekly report and the reasons-over-time table (pure)."""

from __future__ import annotations

import json

import pandas as pd

from reasons.election.plots import election_chart, reason_shares
from reasons.election.weekly_report import build_report, write_report


def rows(week: str, entries: list[tuple]) -> pd.DataFrame:
    out = []
    for rank, (reason_id, label, count, share, elected, previous) in enumerate(entries, start=1):
        out.append(
            {
                "week": week,
                "topic_id": rank - 1,
                "reason_id": reason_id,
                "label": label,
                "rank": rank,
                "message_count": count,
                "share": share,
                "elected": elected,
                "why": "top 2 by dissatisfied messages" if elected else "below the cut",
                "model_version": f"{week}-v",
                "previous_count": previous,
                "count_change": None if previous is None else count - previous,
                "sources": json.dumps({"crm": count - 2, "review_portal": 2}),
                "example_message_ids": [f"{reason_id}-a", f"{reason_id}-b"],
            }
        )
    return pd.DataFrame(out)


W45 = rows("2026-W45", [("R1", "card declined", 40, 0.5, True, None), ("R2", "late refund", 40, 0.5, True, None)])
W46 = rows(
    "2026-W46",
    [
        ("R1", "declined card payments", 60, 0.6, True, 40),
        ("R3", "app crashes", 30, 0.3, True, None),
        ("R2", "late refund", 10, 0.1, False, 40),
    ],
)


def test_reasons_over_time_follow_the_reason_id_under_its_latest_label() -> None:
    shares = reason_shares(pd.concat([W45, W46], ignore_index=True))
    assert list(shares.columns) == ["declined card payments (R1)", "late refund (R2)", "app crashes (R3)"]
    assert shares.loc["2026-W45", "declined card payments (R1)"] == 0.5  # one line, not one per label
    assert shares.loc["2026-W46", "late refund (R2)"] == 0.1 and pd.isna(shares.loc["2026-W45", "app crashes (R3)"])
    assert list(reason_shares(pd.concat([W45, W46]), until_week="2026-W45").index) == ["2026-W45"]


def test_the_report_lists_the_elected_reasons_with_change_sources_examples_and_charts(tmp_path) -> None:
    chart = election_chart(W46, tmp_path / "election.png")
    texts = {"R1-a": "my card was declined twice at <EMAIL>", "R3-b": "the app crashes on start"}
    report = build_report(W46, texts, {"This week": chart})
    md = report.markdown
    assert "week 2026-W46" in md and "100 dissatisfied messages; 2 reason(s) elected" in md
    assert "| 1 | declined card payments | 60 | 60.0% | +20 (was 40) | crm 58, review_portal 2 |" in md
    assert "| 2 | app crashes | 30 | 30.0% | new |" in md
    assert "late refund" not in md.split("## ")[0].split("|---")[1]  # not elected: not in the table
    assert "> my card was declined twice at <EMAIL>" in md and "> the app crashes on start" in md
    assert "<img alt='This week' src='data:image/png;base64," in report.html
    assert "&lt;EMAIL&gt;" in report.html  # escaped
    assert "Too loose to alert on" not in md
    quiet = build_report(W46, texts, {}, quiet={"R3"})
    (r1, r3) = quiet.markdown.split("## #")[1:]
    assert "Too loose to alert on this week" in r3 and "Too loose" not in r1 and "Too loose to alert" in quiet.html
    md_path, html_path = write_report(report, tmp_path / "reports")
    assert (md_path.name, html_path.name) == ("2026-W46.md", "2026-W46.html") and html_path.read_text() == report.html


def test_a_week_without_an_elected_reason_says_so() -> None:
    calm = rows("2026-W47", [("R2", "late refund", 3, 1.0, False, 10)])
    assert "No reason was elected this week" in build_report(calm, {}, {}).markdown
