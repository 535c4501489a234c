"""Read the cleaned messages (``marts.fct_feedback_messages`` in the dbt DuckDB file).

No Dagster; reads the DuckDB file, nothing else: the next stage (weekly topic fit) reads its input here. The connection
is read-only; the file is ``Settings.duckdb_path``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from lake.settings import Settings
from lake.weeks import parse_week

MART = "marts.fct_feedback_messages"
COLUMNS = ("message_id", "source", "text", "text_modelling", "mentions", "created_at", "rating", "week")


class MartNotBuiltError(FileNotFoundError):
    """The DuckDB file or the mart does not exist yet: run the dbt assets (``dbt build``) first."""


def read_messages(settings: Settings, weeks: list[str] | None = None) -> pd.DataFrame:
    """Cleaned, deduplicated messages of ``weeks`` (ISO ``YYYY-Www``; ``None`` = all weeks).

    Columns: ``message_id``, ``source``, ``text`` (the normalized text: whitespace collapsed and
    trimmed, never empty; what is embedded), ``text_modelling`` (cleaned for keywords and labels),
    ``mentions`` (the @handles the text names, a list), ``created_at`` (``datetime64[us, UTC]``), ``rating`` (``Int64``, nullable),
    ``week``; ordered by created_at, source, message_id. An empty frame (same columns) when a week
    has no messages. Raises :class:`MartNotBuiltError` when dbt has not built the mart yet.
    """
    for week in weeks or ():
        parse_week(week)
    path = settings.duckdb_path
    if not path.exists():
        raise MartNotBuiltError(f"{path} does not exist: build the dbt models first (dbt build / the cleaning assets)")
    sql = (
        f"select message_id, source, text_normalized as text, text_modelling, mentions, created_at, rating, week"
        f" from {MART}"
        + (" where week in (select unnest(?))" if weeks is not None else "")
        + " order by created_at, source, message_id"
    )
    params = [list(weeks)] if weeks is not None else []
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            table = con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.CatalogException as exc:
            raise MartNotBuiltError(f"{MART} is not in {path}: build the dbt models first") from exc
    frame = table.to_pandas()
    frame["rating"] = frame["rating"].astype("Int64")
    frame["created_at"] = frame["created_at"].dt.tz_convert("UTC")
    return frame[list(COLUMNS)]


def read_week_messages(settings: Settings, week: str) -> pd.DataFrame:
    """:func:`read_messages` of one ISO week."""
    return read_messages(settings, [week])
