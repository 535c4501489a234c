"""A team's labelled sample as ``reasonlake evaluate`` reads it (reasons/labelled.py): CSV or JSON lines, weeks
from a time column or spread in file order, a complaint column or every row a complaint, and one clear
error for what cannot be evaluated."""

import json

import pandas as pd
import pytest

from reasons.labelled import NO_LABEL, LabelledFileError, labelled_sample, read_labelled, read_table, spread_weeks


def _rows(n: int, days: int = 13) -> list[dict]:
    start = pd.Timestamp("2024-03-04 09:00")  # a Monday: 2024-W10
    return [
        {
            "sent": str(start + pd.Timedelta(days=days * i / n)),
            "body": f"message {i} about issue {i % 3}",
            "issue": f"issue {i % 3}" if i % 10 else "",
            "unhappy": "no" if i % 5 == 0 else "Yes",
        }
        for i in range(n)
    ]


def test_a_csv_with_a_time_and_a_complaint_column_gives_iso_weeks_and_the_human_verdict(tmp_path):
    path = tmp_path / "sample.csv"
    pd.DataFrame(_rows(120)).to_csv(path, index=False)
    sample = read_labelled(path, "body", "issue", time_col="sent", complaint_col="unhappy")
    frame = sample.frame
    assert list(frame["week"].unique()) == ["2024-W10", "2024-W11"]
    assert sample.has_complaints and not sample.spread
    assert frame["dissatisfied"].tolist() == [i % 5 != 0 for i in range(120)]
    assert frame.loc[0, "label"] == NO_LABEL and frame.loc[1, "label"] == "issue 1"
    assert frame["text"].tolist() == [f"message {i} about issue {i % 3}" for i in range(120)]
    assert not any("spread" in n for n in sample.notes)


def test_json_lines_without_time_or_complaint_column_are_spread_in_file_order_and_all_complaints(tmp_path):
    path = tmp_path / "sample.jsonl"
    rows = _rows(250)
    del rows[1]["issue"]  # a key left out reads as empty
    path.write_text("\n".join(json.dumps(r) for r in rows))
    sample = read_labelled(path, "body", "issue", rows_per_week=80)
    frame = sample.frame
    assert sample.spread and not sample.has_complaints and frame["dissatisfied"].all()
    weeks = ["2000-W01"] * 84 + ["2000-W02"] * 83 + ["2000-W03"] * 83  # about equal, in order
    assert frame["week"].tolist() == weeks
    assert any("spread over 3 weeks" in n for n in sample.notes)
    assert "no complaint column: every row counts as a complaint" in sample.notes
    assert frame["label"].tolist()[:3] == [NO_LABEL, NO_LABEL, "issue 2"]


@pytest.mark.parametrize(("rows", "per_week", "weeks"), [(60, 500, 2), (1000, 500, 2), (1600, 500, 3), (10, 1, 10)])
def test_spread_weeks_are_at_least_two_about_equal_and_sort_in_order(rows, per_week, weeks):
    names = spread_weeks(rows, per_week)
    assert len(names) == rows and len(set(names)) == weeks and names == sorted(names)
    sizes = pd.Series(names).value_counts()
    assert sizes.max() - sizes.min() <= 1


def test_rows_without_text_are_left_out_and_said(tmp_path):
    table = pd.DataFrame(_rows(80))
    table.loc[[3, 7], "body"] = "  "
    sample = labelled_sample(table, "t.csv", "body", "issue", rows_per_week=40)
    assert len(sample.frame) == 78 and "2 rows with an empty text left out" in sample.notes


def test_a_missing_column_names_the_option_and_the_columns_there_are():
    table = pd.DataFrame(_rows(80))
    with pytest.raises(LabelledFileError, match=r"no column 'text' \(--text-col\); its columns: sent, body, issue"):
        labelled_sample(table, "t.csv")
    with pytest.raises(LabelledFileError, match=r"'when' \(--time-col\)"):
        labelled_sample(table, "t.csv", "body", "issue", time_col="when")


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "the file is empty"), ("text,label\n", "a header but no rows")],
)
def test_an_empty_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(LabelledFileError, match=message):
        read_table(path)


def test_a_missing_unreadable_or_other_kind_of_file_is_one_clear_error(tmp_path):
    with pytest.raises(LabelledFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "broken.jsonl").write_text('{"text": "a"\n')
    with pytest.raises(LabelledFileError, match="unreadable"):
        read_table(tmp_path / "broken.jsonl")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    with pytest.raises(LabelledFileError, match=r"expected a \.csv or a JSON-lines file"):
        read_table(tmp_path / "sheet.xlsx")


def test_bad_complaint_flags_and_times_name_the_value():
    table = pd.DataFrame(_rows(80))
    table.loc[5, "unhappy"] = "maybe"
    with pytest.raises(LabelledFileError, match="holds 'maybe' in 1 rows; expected true/false"):
        labelled_sample(table, "t.csv", "body", "issue", complaint_col="unhappy")
    table.loc[6, "sent"] = "last tuesday"
    with pytest.raises(LabelledFileError, match="holds 'last tuesday', not a date"):
        labelled_sample(table, "t.csv", "body", "issue", time_col="sent")


def test_fewer_than_two_weeks_or_a_week_too_small_to_fit_is_refused():
    one_week = pd.DataFrame(_rows(80, days=3))
    with pytest.raises(LabelledFileError, match=r"1 week of rows .*at least 2"):
        labelled_sample(one_week, "t.csv", "body", "issue", time_col="sent")
    with pytest.raises(LabelledFileError, match="week 2000-W01 has 20 rows, too few to fit"):
        labelled_sample(pd.DataFrame(_rows(40)), "t.csv", "body", "issue")  # spread: 2 weeks of 20
    # a thin first week is refused; a thin last week is only streamed, so it may be small
    thin_last = pd.DataFrame(_rows(100)[:75])  # 2024-W10: 51 rows, W11: 24
    assert labelled_sample(thin_last, "t.csv", "body", "issue", time_col="sent").frame["week"].nunique() == 2
