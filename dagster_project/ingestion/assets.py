"""The ingestion domain's assets: external (the PyFlink job materializes them, not Dagster).

``["kafka", "feedback"]`` (the ``feedback.<source>`` topics) → ``["raw", "feedback"]`` and
``["raw", "feedback_rejected"]`` (Iceberg tables, contract in ``lake/schemas.py``).
"""

from dagster import AssetKey, AssetSpec, MetadataValue, TableColumn, TableColumnConstraints, TableSchema

from lake.schemas import RAW_FEEDBACK, RAW_FEEDBACK_REJECTED, TableSpec
from lake.settings import TOPIC_PREFIX

GROUP = "ingestion"
KAFKA_FEEDBACK = AssetKey(["kafka", "feedback"])


def table_schema(spec: TableSpec) -> TableSchema:
    """The Iceberg schema of a contract table as Dagster column metadata."""
    return TableSchema(
        columns=[
            TableColumn(
                name=field.name,
                type=str(field.field_type),
                description=field.doc,
                constraints=TableColumnConstraints(nullable=not field.required),
            )
            for field in spec.schema.fields
        ]
    )


def iceberg_table_spec(spec: TableSpec, description: str) -> AssetSpec:
    return AssetSpec(
        key=AssetKey(spec.identifier.split(".")),
        deps=[KAFKA_FEEDBACK],
        description=description,
        group_name=GROUP,
        kinds={"iceberg", "pyflink"},
        metadata={
            # Dagster's standard table metadata keys (what TableMetadataSet writes)
            "dagster/column_schema": table_schema(spec),
            "dagster/table_name": spec.identifier,
            "partition_spec": str(spec.partition_spec),
            "contract": MetadataValue.path("lake/schemas.py"),
        },
    )


kafka_feedback = AssetSpec(
    key=KAFKA_FEEDBACK,
    description=(
        f"Customer feedback messages on the Kafka topics {TOPIC_PREFIX}<source>, one topic per platform "
        "(JSON, contract in flink/contract.py). Produced outside the pipeline."
    ),
    group_name=GROUP,
    kinds={"kafka"},
    metadata={"topic_pattern": f"{TOPIC_PREFIX}<source>"},
)

raw_feedback = iceberg_table_spec(
    RAW_FEEDBACK,
    RAW_FEEDBACK.doc + " Written by the PyFlink ingestion job (flink/); Kafka offsets are committed in the "
    "table's properties in the same Iceberg commit.",
)

raw_feedback_rejected = iceberg_table_spec(
    RAW_FEEDBACK_REJECTED,
    RAW_FEEDBACK_REJECTED.doc
    + " Written by the PyFlink ingestion job (flink/), reason codes in flink.contract.Reason.",
)

INGESTION_ASSETS = [kafka_feedback, raw_feedback, raw_feedback_rejected]
