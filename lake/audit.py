"""Read-only SQL over the whole lake, for audits: ``run_audit(settings, sql)``.

The query runs in an in-memory DuckDB where

* every Iceberg table of the catalog is a view ``<namespace>.<table>`` (``raw.feedback``,
  ``raw.feedback_rejected``, ``ml.topics``, ...), registered only when its name occurs in the query
  text (DuckDB's own ``iceberg`` extension cannot be installed offline). pyiceberg plans the table's
  current data files and DuckDB scans them as an Arrow dataset, pushing the query's columns and
  filters down: an audit of one day reads that day's row groups and the columns it names, not the
  table. A table whose snapshot has delete files is read whole through pyiceberg instead;
* the dbt DuckDB file (``Settings.duckdb_path``), when it exists and is not locked by a running dbt,
  is attached READ_ONLY under its file stem, ``reasonlake``: every dbt relation is
  ``reasonlake.<schema>.<model>`` (e.g. ``reasonlake.marts.fct_feedback_messages``), and the
  schemas that do not clash with an Iceberg namespace are also exposed by their short names:
  ``marts.fct_feedback_messages``, ``marts.fct_feedback_rejections_daily``,
  ``staging.stg_raw__feedback_messages``, ... (``raw.*`` always means the Iceberg tables; dbt's
  copy of them is ``reasonlake.raw.*``).

Only one ``SELECT`` (``WITH ...``, ``EXPLAIN``, ``DESCRIBE``/``SUMMARIZE`` included) is accepted;
anything else raises :class:`~lake.errors.ReadOnlyQueryError`. File access and configuration
changes are disabled before the query runs.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table

from lake import catalog as lake_catalog
from lake.errors import ReadOnlyQueryError
from lake.settings import Settings

Format = Literal["table", "csv", "json"]

_READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_READ_ONLY_PREFIX = re.compile(
    r"^\s*(\(\s*)*(describe|summarize|show|from|select|with|values|table|explain)\b", re.IGNORECASE
)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def check_read_only(sql: str) -> str:
    """The single read-only statement of ``sql`` (trailing ``;`` allowed), else ReadOnlyQueryError."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"cannot parse the audit query: {exc}") from exc
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"an audit runs exactly one SELECT statement, got {len(statements)}")
    statement = statements[0]
    if statement.type not in _READ_ONLY_STATEMENTS or not _READ_ONLY_PREFIX.match(statement.query):
        raise ReadOnlyQueryError(
            f"audit queries are read-only: {statement.type.name} statements are not allowed "
            "(only SELECT / WITH ... SELECT / EXPLAIN / DESCRIBE / SUMMARIZE)"
        )
    if statement.type == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the inner statement: it must itself be read-only.
        check_read_only(re.sub(r"^\s*explain\s+(analyze\s+)?", "", statement.query, flags=re.IGNORECASE))
    return statement.query


def _mentions(sql: str, name: str) -> bool:
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE) is not None


def _load_iceberg_views(con: duckdb.DuckDBPyConnection, settings: Settings, sql: str) -> set[str]:
    """Register ``<namespace>.<table>`` for every catalog table named in ``sql``; return all schemas."""
    catalog = lake_catalog.load(settings)
    schemas: set[str] = set()
    for namespace in catalog.list_namespaces():
        schema = "_".join(namespace)
        schemas.add(schema)
        con.execute(f"create schema if not exists {_quote(schema)}")
        for identifier in catalog.list_tables(namespace):
            name = identifier[-1]
            if not _mentions(sql, name):
                continue
            handle = f"__iceberg__{schema}__{name}"
            con.register(handle, iceberg_relation(catalog.load_table(identifier)))
            con.execute(f"create view {_quote(schema)}.{_quote(name)} as select * from {_quote(handle)}")
    return schemas


def iceberg_relation(table: Table) -> pa.Table | ds.Dataset:
    """The table's current snapshot as an Arrow dataset over its data files (DuckDB pushes projection
    and filters into it), or, when the snapshot has delete files or the file IO is not pyarrow's,
    the whole table read through pyiceberg."""
    scan = table.scan()
    tasks = list(scan.plan_files())
    if not tasks or any(t.delete_files for t in tasks) or not isinstance(table.io, PyArrowFileIO):
        return scan.to_arrow()
    locations = [PyArrowFileIO.parse_location(t.file.file_path) for t in tasks]
    filesystem = table.io.fs_by_scheme(locations[0][0], locations[0][1])
    schema = table.schema().as_arrow()
    return ds.dataset([path for _, _, path in locations], schema=schema, format="parquet", filesystem=filesystem)


def _attach_dbt(con: duckdb.DuckDBPyConnection, settings: Settings, taken: set[str]) -> str | None:
    """Attach the dbt DuckDB file READ_ONLY and expose its non-clashing schemas by short name."""
    path = settings.duckdb_path
    if not path.exists():
        return None
    alias = path.stem
    try:
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"attach {literal} as {_quote(alias)} (read_only)")
    except duckdb.IOException:  # locked by a dbt run in progress: the Iceberg tables still answer
        return None
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = ?", [alias]
    ).fetchall()
    for schema, name in rows:
        if schema in taken or schema in ("main", "information_schema", "pg_catalog"):
            continue
        con.execute(f"create schema if not exists {_quote(schema)}")
        con.execute(
            f"create or replace view {_quote(schema)}.{_quote(name)} as "
            f"select * from {_quote(alias)}.{_quote(schema)}.{_quote(name)}"
        )
    return alias


def run_audit(settings: Settings, sql: str) -> pa.Table:
    """Run one read-only query over every Iceberg table (``namespace.table``) and the dbt marts.

    Raises :class:`ReadOnlyQueryError` for anything but a single SELECT; DuckDB's own errors
    (unknown table or column, ...) propagate unchanged.
    """
    query = check_read_only(sql)
    con = duckdb.connect(":memory:")
    try:
        schemas = _load_iceberg_views(con, settings, query)
        _attach_dbt(con, settings, schemas)
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


# ---- formatting -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-able Python value: ISO strings for times, base64 for bytes, lists and dicts kept."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _cell(value: Any) -> str:
    """Text of one value for the table and CSV formats (NULL is the empty string in CSV)."""
    value = _plain(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def format_result(table: pa.Table, fmt: Format = "table") -> str:
    """Render an audit result: ``table`` (aligned text), ``csv`` (header + rows) or ``json``
    (one JSON array of row objects; timestamps as ISO-8601 strings, bytes as base64)."""
    rows = table.to_pylist()
    names = table.column_names
    if fmt == "json":
        return json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_cell(row[n]) for n in names])
        return out.getvalue()
    if fmt == "table":
        cells = [[("NULL" if row[n] is None else _cell(row[n])).replace("\n", "\\n") for n in names] for row in rows]
        widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
        line = lambda values: " | ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()
        lines = [line(names), "-+-".join("-" * w for w in widths)] + [line(r) for r in cells]
        lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        return "\n".join(lines)
    raise ValueError(f"unknown format {fmt!r}: use 'table', 'csv' or 'json'")


__all__ = ["check_read_only", "format_result", "run_audit"]
