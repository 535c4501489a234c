"""The dbt-duckdb plugin of the project (``dbt/profiles.yml``): SQL functions the models call.

``redact_pii(text)``: the text with personal data replaced by placeholders (``reasons.pii``), as a
vectorized (Arrow) DuckDB function. The staging model applies it first, so no model, mart, embedding,
keyword, label, report or election example downstream ever sees the original (``raw.feedback`` keeps it).
"""

from __future__ import annotations

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import VARCHAR

from reasons.pii import redact_all


def redact_arrow(texts: pa.Array) -> pa.Array:
    return pa.array(redact_all(texts.to_pylist()), type=pa.string())


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function(
            "redact_pii", redact_arrow, [VARCHAR], VARCHAR, type=ARROW, null_handling=SPECIAL, side_effects=False
        )
