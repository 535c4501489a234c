"""The alerting domain's asset: external (the PyFlink alert job writes it, not Dagster), so the graph
shows where the weekly result ends up: ``feast/reasons`` + the promoted model → ``alerts/alerts``."""

from dagster import AssetKey, AssetSpec

ALERTS = AssetKey(["alerts", "alerts"])

alerts = AssetSpec(
    key=ALERTS,
    deps=[AssetKey(["kafka", "feedback"]), AssetKey(["feast", "reasons"]), AssetKey(["ml", "topic_model"])],
    description="alerts.alerts (Iceberg) and the Kafka topic feedback.alerts: one alert per new message that "
    "matches an elected reason, written by the PyFlink alert job (`reasonlake alerts`, flink/alert_job.py) "
    "with the live model and the election read from Feast online.",
    group_name="alerting",
    kinds={"iceberg", "kafka", "pyflink"},
    metadata={"dagster/table_name": "alerts.alerts", "topic": "feedback.alerts"},
)
