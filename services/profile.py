"""Every scale-out engine of a home at once: the ``cluster`` profile of ``reasonlake up --profile cluster``
(a Flink cluster of two TaskManagers, PostgreSQL as the Iceberg catalog, Redis as Feast's online store, the
local S3 object store as the warehouse)."""

from __future__ import annotations

from lake.settings import Settings
from services import flink_cluster, object_store, postgres, redis


def start(settings: Settings, parallelism: int = 4) -> Settings:
    """Start every scale-out engine of the home and return ``settings`` pointed at them: what
    ``reasonlake up --profile cluster`` prints as environment variables."""
    cluster = flink_cluster.start(settings)
    catalog = postgres.start(settings)
    online = redis.start(settings)
    url = object_store.start_warehouse(settings)
    return settings.replace(
        flink_address=cluster.address,
        flink_parallelism=parallelism,
        catalog_uri=catalog.url(),
        catalog_warehouse="s3://warehouse/reasonlake",
        catalog_extra={**settings.catalog_extra, **object_store.s3_properties(url)},
        online_store=online.url,
    )


def stop(settings: Settings) -> list[str]:
    """Stop the home's scale-out engines; the names of those that were running."""
    stopped = []
    for name, stop_one in (
        ("Flink cluster", flink_cluster.stop),
        ("PostgreSQL", postgres.stop),
        ("Redis", redis.stop),
        ("S3 object store", object_store.stop),
    ):
        if stop_one(settings):
            stopped.append(name)
    return stopped
