"""A team's labelled sample of its own messages, read as :mod:`reasons.evaluation` takes a corpus. Pure.

A CSV or JSON-lines file (by extension: ``.csv``; ``.jsonl``, ``.ndjson`` or ``.json`` of one object a line)
with a text column and a label column (the issue a person gave the message; several joined by
:data:`reasons.evaluation.LABEL_SEPARATOR`), optionally a time column (each row's ISO week comes from it) and a
complaint column (true/false, yes/no, 1/0: whether the message complains at all). Without a complaint
column every row counts as a complaint; without a time column the rows are spread over about equal weeks
in file order (:func:`spread_weeks`). ``reasonlake evaluate`` reads it (``reasons/evaluation_report.py``
measures and reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lake.weeks import shift_week, weeks_of

ROWS_PER_WEEK = 500  # rows a spread week holds when the sample has no time column
MIN_WEEKS = 2  # one week fitted and elected, the next streamed through it
SPREAD_FIRST_WEEK = "2000-W01"  # the first of the weeks rows are spread over without a time column
NO_LABEL = "(no label)"  # a row whose label cell is empty
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_JSON_LINES = (".jsonl", ".ndjson", ".json")


class LabelledFileError(ValueError):
    """The labelled file cannot be read or cannot be evaluated (a column missing, too few rows a week);
    the message is one line naming the file and what is wrong."""


@dataclass(frozen=True)
class LabelledSample:
    """``frame``: ``week``, ``text``, ``label``, ``dissatisfied`` (the complaint column, else True) beside the
    file's own columns, in file order; ``source``: what it was read from; ``has_complaints``: whether
    ``dissatisfied`` is a human verdict (a complaint column) rather than every row; ``notes``: what the
    reader decided (weeks spread in file order, rows left out)."""

    frame: pd.DataFrame
    source: str
    has_complaints: bool
    spread: bool = False  # the weeks were spread over the rows in file order (no time column)
    notes: tuple[str, ...] = ()


def read_table(path: Path | str) -> pd.DataFrame:
    """Every column of a CSV or JSON-lines file as strings; :class:`LabelledFileError` when it is missing,
    unreadable, of another kind, or has no rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", *_JSON_LINES):
        raise LabelledFileError(f"{path}: expected a .csv or a JSON-lines file (.jsonl, .ndjson, .json)")
    if not path.is_file():
        raise LabelledFileError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            table = pd.read_json(path, lines=True, dtype=False)
            table = table.astype(object).where(table.notna(), "").astype(str)  # a missing key: empty
    except pd.errors.EmptyDataError:
        raise LabelledFileError(f"{path}: the file is empty") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LabelledFileError(f"{path}: unreadable ({' '.join(str(exc).split())[:200]})") from None
    if table.empty:
        raise LabelledFileError(f"{path}: the file has a header but no rows")
    return table


def read_labelled(
    path: Path | str,
    text_col: str = "text",
    label_col: str = "label",
    time_col: str | None = None,
    complaint_col: str | None = None,
    rows_per_week: int = ROWS_PER_WEEK,
    min_rows: int = 30,
) -> LabelledSample:
    """:func:`labelled_sample` of the file at ``path`` (:func:`read_table`)."""
    table = read_table(path)
    return labelled_sample(
        table, str(path), text_col, label_col, time_col, complaint_col, rows_per_week=rows_per_week, min_rows=min_rows
    )


def labelled_sample(
    table: pd.DataFrame,
    source: str,
    text_col: str = "text",
    label_col: str = "label",
    time_col: str | None = None,
    complaint_col: str | None = None,
    *,
    rows_per_week: int = ROWS_PER_WEEK,
    min_rows: int = 30,
) -> LabelledSample:
    """``table`` (a labelled file's rows) as a :class:`LabelledSample`. Rows with an empty text are left out
    (said in ``notes``); an empty label reads :data:`NO_LABEL`. Every week but the last (which is only
    streamed) needs ``min_rows`` rows (the weekly fit's ``TopicModelParams.min_documents``), and there must
    be at least :data:`MIN_WEEKS` weeks: else :class:`LabelledFileError`."""
    wanted = {
        "--text-col": text_col,
        "--label-col": label_col,
        "--time-col": time_col,
        "--complaint-col": complaint_col,
    }
    for option, column in wanted.items():
        if column is not None and column not in table.columns:
            raise LabelledFileError(
                f"{source}: no column {column!r} ({option}); its columns: {', '.join(map(str, table.columns))}"
            )
    notes = []
    text = table[text_col].astype(str).str.strip()
    kept = table[text.ne("")].reset_index(drop=True)
    if len(kept) < len(table):
        notes.append(f"{len(table) - len(kept)} rows with an empty text left out")
    if kept.empty:
        raise LabelledFileError(f"{source}: no row has a text in column {text_col!r}")
    label = kept[label_col].astype(str).str.strip()
    frame = kept.assign(text=kept[text_col].astype(str), label=label.where(label.ne(""), NO_LABEL))
    if complaint_col is not None:
        frame["dissatisfied"] = _flags(frame[complaint_col], source, complaint_col)
    else:
        frame["dissatisfied"] = True
        notes.append("no complaint column: every row counts as a complaint")
    if time_col is not None:
        frame["week"] = _weeks(frame[time_col], source, time_col)
    else:
        frame["week"] = spread_weeks(len(frame), rows_per_week)
        notes.append(
            f"no time column: the {len(frame)} rows are spread over {frame['week'].nunique()} weeks of about "
            f"{len(frame) // frame['week'].nunique()} rows in file order (named from {SPREAD_FIRST_WEEK} on)"
        )
    spread = time_col is None
    _check_weeks(frame, source, min_rows, spread)
    return LabelledSample(frame, source, has_complaints=complaint_col is not None, spread=spread, notes=tuple(notes))


def spread_weeks(rows: int, rows_per_week: int = ROWS_PER_WEEK) -> list[str]:
    """Weeks for ``rows`` rows in file order: ``max(MIN_WEEKS, round(rows / rows_per_week))`` weeks of about
    equal size, consecutive ISO weeks from :data:`SPREAD_FIRST_WEEK` (the registry and the election count in
    ISO weeks; these stand for no date)."""
    weeks = max(MIN_WEEKS, round(rows / max(rows_per_week, 1)))
    names = [shift_week(SPREAD_FIRST_WEEK, k) for k in range(weeks)]
    return [names[i * weeks // rows] for i in range(rows)]


def _flags(values: pd.Series, source: str, column: str) -> pd.Series:
    words = values.astype(str).str.strip().str.lower()
    bad = words[~words.isin(_TRUE | _FALSE)]
    if len(bad):
        raise LabelledFileError(
            f"{source}: column {column!r} (--complaint-col) holds {bad.iloc[0]!r} in {len(bad)} rows; "
            "expected true/false, yes/no or 1/0"
        )
    return words.isin(_TRUE)


def _weeks(values: pd.Series, source: str, column: str) -> pd.Series:
    times = pd.to_datetime(values.astype(str), utc=True, errors="coerce", format="mixed")
    if times.isna().any():
        first = values[times.isna()].iloc[0]
        raise LabelledFileError(
            f"{source}: column {column!r} (--time-col) holds {first!r}, not a date or time, in "
            f"{int(times.isna().sum())} rows"
        )
    return weeks_of(times)


def _check_weeks(frame: pd.DataFrame, source: str, min_rows: int, spread: bool) -> None:
    sizes = frame.groupby("week").size().sort_index()
    if len(sizes) < MIN_WEEKS:
        raise LabelledFileError(
            f"{source}: {len(sizes)} week of rows ({sizes.index[0]}); evaluating needs at least {MIN_WEEKS} "
            "(a week fitted and elected, the next streamed)"
        )
    small = sizes.iloc[:-1][sizes.iloc[:-1] < min_rows]
    if len(small):
        raise LabelledFileError(
            f"{source}: week {small.index[0]} has {int(small.iloc[0])} rows, too few to fit (at least {min_rows}); "
            f"{len(small)} such week(s)"
            + ("" if spread else ": leave them out of the file, or spread the rows without --time-col")
        )
