"""The Feast definitions of reasonlake: the ``reason`` entity and the ``reasons`` feature view.

Module-level objects, the Feast template way, so ``feast apply`` in this folder works too. The
file source path is relative: Feast resolves it against the repo path of its config, which is this
folder for the CLI (``feature_store.yaml``) and ``settings.feast_dir`` for the pipeline
(``feature_repo.config.repo_config``). The election asset exports its rows to that file.
"""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, PushSource
from feast.data_source import DataSource
from feast.types import Bool, Float64, Int64, String, UnixTimestamp
from feast.value_type import ValueType

REASONS_PARQUET = "data/reasons.parquet"  # relative to the repo path

reason = Entity(
    name="reason",
    join_keys=["reason_id"],
    value_type=ValueType.STRING,
    description="A reason of the registry (ml.reasons): a stable id such as R0007 that survives weekly refits.",
)

reasons_source = FileSource(
    name="reasons_source",
    path=REASONS_PARQUET,
    timestamp_field="elected_at",
    description="Rows of ml.elections exported by the feast/reasons asset.",
)

reasons_push = PushSource(name="reasons_push", batch_source=reasons_source)

reasons = FeatureView(
    name="reasons",
    entities=[reason],
    ttl=timedelta(days=60),
    schema=[
        Field(name="label", dtype=String),
        Field(name="rank", dtype=Int64),
        Field(name="share", dtype=Float64),
        Field(name="elected", dtype=Bool),
        Field(name="week", dtype=String),
        Field(name="model_version", dtype=String),
        Field(name="valid_until", dtype=UnixTimestamp),
    ],
    source=reasons_push,
    online=True,
    description="The weekly election of every candidate reason; the alert job alerts on elected ones.",
)

FEATURES = ("label", "rank", "share", "elected", "week", "model_version", "valid_until")
OBJECTS: list[Entity | DataSource | FeatureView] = [reason, reasons_source, reasons_push, reasons]
