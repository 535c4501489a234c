"""Where personal data went: scan a home's tables and files for given values (tests only)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from lake import catalog as lake_catalog
from lake.maintenance import RAW_TABLES  # where the original text is kept, on purpose
from lake.settings import Settings

# files holding raw data by design (Iceberg data files and DuckDB are scanned by query instead)
RAW_FILES = ("warehouse", "checkpoints", "broker", "run", "dbt")
TEXT_SUFFIXES = {".json", ".yaml", ".yml", ".md", ".txt", ".csv", ".html", ".svg", ".log", ".db", ".sqlite"}


def leaks(settings: Settings, values: Iterable[str]) -> dict[str, list[str]]:
    """``where -> values found there``, outside ``raw``: every Iceberg table of the catalog, every
    table of the DuckDB file, and the home's other text files (models, plots, reports, Feast)."""
    values = [v for v in values if v]
    found: dict[str, list[str]] = {}

    def check(where: str, text: str) -> None:
        hits = [v for v in values if v in text]
        if hits:
            found[where] = hits

    catalog = lake_catalog.load(settings)
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            name = ".".join(identifier)
            if name not in RAW_TABLES:
                check(name, str(catalog.load_table(identifier).scan().to_arrow().to_pylist()))
    if settings.duckdb_path.exists():
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            for schema, table in con.sql(
                "select table_schema, table_name from information_schema.tables where table_schema <> 'raw'"
            ).fetchall():
                check(f"duckdb {schema}.{table}", str(con.sql(f'select * from "{schema}"."{table}"').fetchall()))
    for path in sorted(Path(settings.home).rglob("*")):
        relative = path.relative_to(settings.home)
        if path.is_file() and relative.parts[0] not in RAW_FILES and path.suffix in TEXT_SUFFIXES:
            check(str(relative), path.read_bytes().decode("utf-8", errors="replace"))
    return found


def present_in_raw(settings: Settings, values: Iterable[str]) -> set[str]:
    """The values ``raw.feedback`` holds (the original is kept there)."""
    text = str(lake_catalog.read(lake_catalog.load(settings), "raw.feedback", selected_fields=("text",)).to_pylist())
    return {v for v in values if v in text}
