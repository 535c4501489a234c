"""dbt-duckdb's ``iceberg`` plugin, with the catalog's secret properties read from a file.

``dbt/profiles.yml`` loads it under the alias ``iceberg`` (what the sources name). Its config is
``{"catalog": ..., <public properties>, "secrets_file": <path>}``: the public properties travel as dbt
``--vars``, which Dagster logs with the command line; the secret ones (an object store's secret key, a
password in the catalog URI: ``dagster_project.cleaning.resources.split_secrets``) are read here from
the 0600 file the command's launcher wrote under the home, so no log ever shows them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins.iceberg import Plugin as IcebergPlugin


class Plugin(IcebergPlugin):
    def initialize(self, config: dict[str, Any]) -> None:
        config = dict(config)
        secrets_file = config.pop("secrets_file", None)
        if secrets_file:
            config.update(json.loads(Path(secrets_file).read_text()))
        super().initialize(config)
