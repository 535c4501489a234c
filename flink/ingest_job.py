"""The ingest job: every ``feedback.<source>`` topic → ``raw.feedback`` + ``raw.feedback_rejected``.

Kafka source (envelopes, from the offsets Iceberg already holds) → commit batches held in Flink state
(Java ``EnvelopeBatcher``, checkpointed with the source's position) → :class:`flink.operators.IngestFunction`
in its own task (contract + :class:`flink.sink.IcebergBatchSink`, one Iceberg commit per batch and table).
Exactly-once into Iceberg through the offsets committed with each batch; safe to rerun anytime.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from flink import operators, progress, runtime, watches
from flink.jobconfig import IngestJobConfig
from flink.sink import DUPLICATE_MESSAGE_ID, start_offsets
from lake import catalog as lake_catalog
from lake.catalog import TopicPartition
from lake.settings import Settings
from services import broker


@dataclass(frozen=True)
class IngestSummary:
    accepted: int
    rejected: int
    duplicates_skipped: int  # records already in Iceberg (replayed), not written again
    duplicate_message_ids: int  # rows whose message_id this run had seen within the source (kept; dbt deduplicates)
    seconds: float
    start_offsets: dict[TopicPartition, int]

    def describe(self) -> str:
        """One line for people: what was written where, what was skipped and kept, how long it took."""
        return (
            f"{self.accepted:,} accepted into raw.feedback, {self.rejected:,} rejected into raw.feedback_rejected "
            f"(with their reason), {self.duplicates_skipped:,} already in the lake skipped, "
            f"{self.duplicate_message_ids:,} re-sent message ids kept for dbt to deduplicate; {self.seconds:.1f} s"
        )


def run_ingest(
    settings: Settings, config: IngestJobConfig | None = None, until_idle_s: float | None = None, verbose: bool = True
) -> IngestSummary:
    """Run the ingest job until nothing arrived for ``until_idle_s`` and all is committed
    (``None``: until Ctrl-C). Returns what this run wrote."""
    started = time.monotonic()
    config = config or IngestJobConfig.from_settings(settings)
    settings.ensure_dirs()
    start = start_offsets(lake_catalog.load(settings))
    progress.clear_progress(config.progress_dir)

    env = runtime.create_env(config.runtime)
    # A task of its own (not chained to the source): the source reads and batches the next records
    # while Python commits the current batch. A checkpoint barrier follows the batches handed over
    # before it, so a checkpoint completes only once they are committed.
    operators.envelope_batches(env, config.source, start, "kafka-feedback", config.batch).flat_map(
        operators.IngestFunction(config)
    ).name("validate-and-commit").start_new_chain().sink_to(operators.discarding_sink())
    totals, _ = runtime.run_until_idle(
        env,
        config.job_name,
        [(config.progress_dir, config.runtime.parallelism)],
        config.run_id,
        until_idle_s,
        outage=functools.partial(broker.unreachable, config.source.outage_servers),
        on_progress=runtime.print_totals("ingest", ("accepted", "rejected")) if verbose else None,
        backlog=watches.broker_backlog(config.source, start),
    )
    return IngestSummary(
        accepted=totals.count("accepted"),
        rejected=totals.count("rejected"),
        duplicates_skipped=totals.duplicates_skipped,
        duplicate_message_ids=totals.count(DUPLICATE_MESSAGE_ID),
        seconds=time.monotonic() - started,
        start_offsets=start,
    )
