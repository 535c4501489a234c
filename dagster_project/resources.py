"""Resources shared by every domain."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from dagster import ConfigurableResource
from pyiceberg.catalog import Catalog

from lake import catalog as lake_catalog
from lake.settings import Settings


class ReasonlakeResource(ConfigurableResource):
    """Where the lake lives. Unset fields fall back to ``Settings.from_env()`` at run time."""

    home: Optional[str] = None

    def settings(self) -> Settings:
        return Settings.from_env(home=Path(self.home).absolute() if self.home else None)

    def catalog(self) -> Catalog:
        return lake_catalog.load(self.settings())
