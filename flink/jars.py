"""The jars every pipeline job ships with (Kafka connector, Kafka client, envelope deserializer)."""

from __future__ import annotations

import sys
from pathlib import Path

from flink.errors import MissingJarsError

JAR_NAMES = ("flink-connector-kafka.jar", "kafka-clients.jar", "reasonlake-flink.jar")


def jars_dir(prefix: str | Path | None = None) -> Path:
    """Where ``scripts/setup.sh`` installs the jars: ``<sys.prefix>/share/reasonlake/jars``."""
    return Path(prefix or sys.prefix) / "share" / "reasonlake" / "jars"


def pipeline_jars(prefix: str | Path | None = None) -> list[str]:
    """``file://`` URLs of the three jars, for Flink's ``pipeline.jars``; raises if any is missing."""
    folder = jars_dir(prefix)
    paths = [folder / name for name in JAR_NAMES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise MissingJarsError(f"missing Flink jar(s) {', '.join(missing)} in {folder}: run `make setup`")
    return [p.resolve().as_uri() for p in paths]
