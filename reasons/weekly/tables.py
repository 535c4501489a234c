"""Week-partitioned reads and writes of the contract tables (Iceberg, through :mod:`lake.catalog`), shared by
the weekly steps.

:func:`write_week` replaces one week's rows of a contract table (``ml.reasons``, ``ml.topics``, the
election tables, …) in one commit, creating the table when missing; :func:`read_at_snapshot` scans a
contract table at its current snapshot. Only :func:`rows` (a frame's rows as plain values for them) does no
I/O."""

from __future__ import annotations

import pandas as pd
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from lake import catalog as lake_catalog
from lake.settings import Settings


def rows(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain Python values (NaN/NA → None, Timestamps → datetimes) for ``to_arrow``."""
    out = []
    for record in frame.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # arrays read back from parquet
                value = value.tolist()
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif not isinstance(value, (list, tuple)) and pd.isna(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            clean[key] = value
        out.append(clean)
    return out


def write_week(settings: Settings, identifier: str, frame: pd.DataFrame, week: str) -> int:
    """Replace ``week``'s rows of the contract table ``identifier`` with ``frame``; returns the row count."""
    table = lake_catalog.ensure_table(lake_catalog.load(settings), identifier)
    lake_catalog.replace_week(table, lake_catalog.to_arrow(identifier, rows(frame)), week)
    return len(frame)


def read_at_snapshot(
    catalog, identifier: str, row_filter: BooleanExpression = AlwaysTrue(), selected_fields: tuple[str, ...] = ("*",)
) -> tuple[pd.DataFrame, int | None]:
    """A contract table scanned at its current snapshot, and that snapshot's id (audit trail)."""
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return lake_catalog.spec_of(identifier).arrow_schema.empty_table().to_pandas(), None
    snapshot = table.current_snapshot()
    if snapshot is None:
        return lake_catalog.spec_of(identifier).arrow_schema.empty_table().to_pandas(), None
    scan = table.scan(row_filter=row_filter, selected_fields=selected_fields, snapshot_id=snapshot.snapshot_id)
    return scan.to_pandas(), snapshot.snapshot_id
