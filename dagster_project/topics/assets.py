"""Weekly embeddings, topic fit and reason registry, thin shells over :mod:`flink.embed_job`,
:mod:`reasons.weekly.topic_fit` and :mod:`reasons.weekly.reason_ids`.

ml/embeddings (the PyFlink BATCH job embeds the week's messages not stored yet into ml.embeddings) →
ml/topic_model (BERTopic artefact on disk) → ml/reasons + ml/reason_mappings + ml/reason_events
(the registry gives each topic a stable reason id) → ml/topics + ml/message_topics (Iceberg, with
registry reason ids) → ml/elections.
"""

import pandas as pd
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
    asset,
    multi_asset,
)

from dagster_project.partitions import ONE_WEEK_A_RUN
from dagster_project.resources import ReasonlakeResource
from lake.weeks import partition_key_to_week
from reasons.embedding import backends
from reasons.marts import read_week_messages
from reasons.registry import RegistryParams
from reasons.registry.edits import Edit, in_force
from reasons.sentiment import DissatisfactionRule
from reasons.topics.params import OUTLIER, TopicModelParams
from reasons.weekly.reason_edits import read_edits
from reasons.weekly.reason_ids import resolve_reasons, write_topic_tables
from reasons.weekly.topic_fit import fit_week

MART = AssetKey(["marts", "fct_feedback_messages"])
EMBEDDINGS = AssetKey(["ml", "embeddings"])
TOPIC_MODEL = AssetKey(["ml", "topic_model"])
TOPICS = AssetKey(["ml", "topics"])
MESSAGE_TOPICS = AssetKey(["ml", "message_topics"])
REASONS = AssetKey(["ml", "reasons"])
REASON_MAPPINGS = AssetKey(["ml", "reason_mappings"])
REASON_EVENTS = AssetKey(["ml", "reason_events"])

_P, _R, _G = TopicModelParams(), DissatisfactionRule(), RegistryParams()


class TopicFitConfig(Config):
    """Run config of the weekly fit (defaults: ``TopicModelParams`` and ``DissatisfactionRule``)."""

    seed: int = _P.seed
    min_topic_size: int | None = _P.min_topic_size
    min_topic_share: float = _P.min_topic_share
    outlier_threshold: float = _P.outlier_threshold
    # a streamed message this close to a topic's centroid or closer is assigned to it (None: outlier_threshold)
    assign_min_similarity: float | None = _P.assign_min_similarity
    fit_sample: int | None = _P.fit_sample
    split_min_share: float = _P.split_min_share  # a catch-all topic holding this share of the week is split
    # alerts only at this × the week's median topic coherence or closer (precision for recall; None: off)
    alert_coherence_ratio: float | None = _P.alert_coherence_ratio
    # alerts only inside this quantile of the topic's own members' cosines, its core (0: the assignment's floor)
    alert_quantile: float = _P.alert_quantile
    max_rating: int = _R.max_rating
    dissatisfaction_threshold: float = _R.threshold  # P(dissatisfied) of a message without a rating

    def params(self) -> TopicModelParams:
        return TopicModelParams(
            seed=self.seed,
            min_topic_size=self.min_topic_size,
            min_topic_share=self.min_topic_share,
            outlier_threshold=self.outlier_threshold,
            assign_min_similarity=self.assign_min_similarity,
            fit_sample=self.fit_sample,
            split_min_share=self.split_min_share,
            alert_coherence_ratio=self.alert_coherence_ratio,
            alert_quantile=self.alert_quantile,
        )

    def rule(self) -> DissatisfactionRule:
        return DissatisfactionRule(max_rating=self.max_rating, threshold=self.dissatisfaction_threshold)


class EmbedConfig(Config):
    """Run config of the batch embedding job (parallelism and Flink address come from the settings)."""

    rows_per_file: int = 5000  # staged rows per data file: a file is one task of the job
    batch_size: int = _P.embed_batch_size


class RegistryConfig(Config):
    match_threshold: float = _G.match_threshold
    death_after_weeks: int = _G.death_after_weeks
    embedding_momentum: float = _G.embedding_momentum
    group_threshold: float | None = _G.group_threshold  # None: adapted to the week (group_sd, group_floor)
    group_sd: float = _G.group_sd
    group_floor: float = _G.group_floor
    min_coherence_ratio: float = _G.min_coherence_ratio
    min_group_coherence_ratio: float | None = _G.min_group_coherence_ratio  # None: only min_coherence_ratio splits
    min_group_fit_coherence_ratio: float | None = _G.min_group_fit_coherence_ratio  # e.g. 0.5 for social media
    min_alert_coherence_ratio: float | None = _G.min_alert_coherence_ratio  # None: every reason alerts
    # None: a reason no tighter than the week as a whole (a little of everything) may be elected
    min_week_relative_coherence: float | None = _G.min_week_relative_coherence
    min_dissatisfied_share: float = _G.min_dissatisfied_share
    labels_file: str | None = None  # default: reasons/reason_labels.yaml

    def params(self) -> RegistryParams:
        return RegistryParams(
            match_threshold=self.match_threshold,
            death_after_weeks=self.death_after_weeks,
            embedding_momentum=self.embedding_momentum,
            group_threshold=self.group_threshold,
            group_sd=self.group_sd,
            group_floor=self.group_floor,
            min_coherence_ratio=self.min_coherence_ratio,
            min_group_coherence_ratio=self.min_group_coherence_ratio,
            min_group_fit_coherence_ratio=self.min_group_fit_coherence_ratio,
            min_alert_coherence_ratio=self.min_alert_coherence_ratio,
            min_week_relative_coherence=self.min_week_relative_coherence,
            min_dissatisfied_share=self.min_dissatisfied_share,
        )


def build(weeks: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    """The weekly topic assets over the weekly partitions ``weeks``."""

    @asset(
        key=EMBEDDINGS,
        deps=[MART],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
        group_name="topics",
        kinds={"iceberg", "pyflink"},
        description="ml.embeddings of the week's cleaned messages: those not stored yet are staged in "
        "ml.embedding_inputs and embedded by the PyFlink job in BATCH mode (flink/embed_job.py), one task "
        "per staged file, spread over REASONLAKE_FLINK_PARALLELISM subtasks (on REASONLAKE_FLINK_ADDRESS "
        "when set).",
    )
    def message_embeddings(
        context: AssetExecutionContext, config: EmbedConfig, reasonlake: ReasonlakeResource
    ) -> MaterializeResult:
        from flink.batch_embedding import stage_week
        from flink.embed_job import run_embed_job
        from flink.jobconfig import EmbedJobConfig

        settings = reasonlake.settings()
        week = partition_key_to_week(context.partition_key)
        messages = read_week_messages(settings, week)
        model_id = backends.model_id(settings.embedding_backend)
        staged = stage_week(settings, week, messages, model_id, rows_per_file=config.rows_per_file)
        context.log.info(
            f"{week}: {staged.messages} cleaned messages, {staged.staged} to embed in {staged.files} file(s)"
        )
        job = EmbedJobConfig.from_settings(
            settings,
            week,
            embedding_model=model_id,
            embedding_backend=settings.embedding_backend,
            batch_size=config.batch_size,
        )
        summary = run_embed_job(settings, job)
        context.log.info(f"{week}: {summary}")
        return MaterializeResult(
            metadata={
                "week": week,
                "embedding_model": model_id,
                "n_messages": staged.messages,
                "embeddings_reused": staged.messages - staged.staged,
                "embeddings_computed": summary.embedded,
                "already_stored_at_run": summary.skipped,
                "file_tasks": summary.files,
                "parallelism": summary.parallelism,
                "flink": settings.flink_address or "local mini-cluster",
                "job_seconds": summary.seconds,
            }
        )

    @asset(
        key=TOPIC_MODEL,
        deps=[MART, EMBEDDINGS],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
        group_name="topics",
        kinds={"python"},
        description="BERTopic model of the week's messages (artefact under models/topics/<week>/<model_version>/, "
        "with the week's per-message assignments and embeddings).",
    )
    def topic_model(
        context: AssetExecutionContext, config: TopicFitConfig, reasonlake: ReasonlakeResource
    ) -> MaterializeResult:
        settings = reasonlake.settings()
        week = partition_key_to_week(context.partition_key)
        messages = read_week_messages(settings, week)
        context.log.info(f"{week}: {len(messages)} cleaned messages")
        backend = settings.embedding_backend
        result = fit_week(
            messages,
            week,
            backends.load_embedder(backend),
            settings,
            config.params(),
            config.rule(),
            log=context.log.info,
            embedding_model=backends.model_id(backend),
        )
        fit = result.fit
        labels = pd.DataFrame(
            [
                {"topic_id": t.topic_id, "label": t.label, "size": t.size, "keywords": ", ".join(t.keywords[:6])}
                for t in fit.topics
            ]
        )
        return MaterializeResult(
            metadata={
                "week": week,
                "model_version": result.model_version,
                "path": MetadataValue.path(str(result.artifact_path)),
                "n_messages": fit.n_documents,
                "n_topics": len(fit.topics),
                "outlier_share": fit.outlier_share,
                "embeddings_reused": result.embeddings_reused,
                "embeddings_computed": result.embeddings_computed,
                "min_topic_size": fit.resolved.min_topic_size,
                "labels": MetadataValue.md(labels.to_markdown(index=False) if len(labels) else "_no topics_"),
            }
        )

    @multi_asset(
        name="reason_registry",
        specs=[
            AssetSpec(
                REASONS,
                # the registry carries the previous week's forward: a backfill materializes weeks in order
                deps=[TOPIC_MODEL, AssetDep(REASONS, partition_mapping=TimeWindowPartitionMapping(-1, -1))],
                kinds={"iceberg"},
                group_name="topics",
                description="ml.reasons: the reason registry after the week (stable ids across refits).",
            ),
            AssetSpec(
                REASON_MAPPINGS,
                deps=[TOPIC_MODEL],
                kinds={"iceberg"},
                group_name="topics",
                description="ml.reason_mappings: (week, model_version, topic_id) -> reason_id.",
            ),
            AssetSpec(
                REASON_EVENTS,
                deps=[TOPIC_MODEL],
                kinds={"iceberg"},
                group_name="topics",
                description="ml.reason_events: births, matches, deaths, merges, splits, refused catch-alls and quiet (too loose to alert on) reasons of the week.",
            ),
        ],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
    )
    def reason_registry(context: AssetExecutionContext, config: RegistryConfig, reasonlake: ReasonlakeResource):
        week = partition_key_to_week(context.partition_key)
        settings = reasonlake.settings()
        out = resolve_reasons(settings, week, config.params(), labels_file=config.labels_file)
        edits = edits_table(in_force(read_edits(settings), week))  # the analyst's, docs/reason_edits.md
        upd = out.update
        by_id = upd.by_id()
        table = pd.DataFrame(
            [
                {
                    "topic_id": m.topic_id,
                    "reason_id": m.reason_id,
                    "label": out.labels.get(m.reason_id, ""),
                    "match": m.event,
                    "similarity": round(m.similarity, 3),
                    "alerts": m.alerts,
                    "born_week": by_id[m.reason_id].born_week if m.reason_id in by_id else "",
                }
                for m in upd.mappings
            ]
        )
        counts = {e: upd.count(e) for e in ("born", "matched", "died", "merged", "split", "refused", "quiet")}
        counts_topics = {
            "topics": len(upd.mappings),
            "topics_not_a_reason": sum(1 for m in upd.mappings if m.event == "not_a_reason"),
        }
        context.log.info(f"{week}: registry from {out.previous_week or 'empty'}: {counts}")
        yield MaterializeResult(
            asset_key=REASONS,
            metadata={
                "week": week,
                "model_version": out.model_version,
                "previous_snapshot": out.previous_week or "none",
                "alive": sum(1 for r in upd.reasons if r.status == "alive"),
                "dagster/row_count": len(upd.reasons),
                **{f"events_{k}": v for k, v in counts.items()},
                **counts_topics,
                "edits_in_force": len(edits),
                "mapping": MetadataValue.md(table.to_markdown(index=False) if len(table) else "_no topics_"),
            },
        )
        yield MaterializeResult(
            asset_key=REASON_MAPPINGS, metadata={"week": week, "dagster/row_count": len(upd.mappings)}
        )
        events = pd.DataFrame(
            [
                {"event": e.event, "reasons": ", ".join(e.reason_ids), "detail": e.detail}
                for e in upd.events
                if e.event != "matched"
            ]
        )
        yield MaterializeResult(
            asset_key=REASON_EVENTS,
            metadata={
                "week": week,
                "dagster/row_count": len(upd.events),
                "events": MetadataValue.md(events.to_markdown(index=False) if len(events) else "_only matches_"),
                "edits": MetadataValue.md(edits.to_markdown(index=False) if len(edits) else "_no edits in force_"),
            },
        )

    @multi_asset(
        name="topic_tables",
        specs=[
            AssetSpec(
                TOPICS,
                deps=[TOPIC_MODEL, REASONS, REASON_MAPPINGS],
                kinds={"iceberg"},
                group_name="topics",
                description="ml.topics: the week's topics with registry reason ids, labels and keywords.",
            ),
            AssetSpec(
                MESSAGE_TOPICS,
                deps=[TOPIC_MODEL, REASON_MAPPINGS],
                kinds={"iceberg"},
                group_name="topics",
                description="ml.message_topics: each message's topic, reason, sentiment and dissatisfaction.",
            ),
        ],
        partitions_def=weeks,
        backfill_policy=ONE_WEEK_A_RUN,
    )
    def topic_tables(context: AssetExecutionContext, reasonlake: ReasonlakeResource):
        week = partition_key_to_week(context.partition_key)
        topics, mt = write_topic_tables(reasonlake.settings(), week)
        version = str(topics["model_version"].iloc[0]) if len(topics) else ""
        yield MaterializeResult(
            asset_key=TOPICS, metadata={"week": week, "model_version": version, "dagster/row_count": len(topics)}
        )
        yield MaterializeResult(
            asset_key=MESSAGE_TOPICS,
            metadata={
                "week": week,
                "model_version": version,
                "dagster/row_count": len(mt),
                "dissatisfied": int(mt["dissatisfied"].sum()),
                "outliers": int((mt["topic_id"] == OUTLIER).sum()),
            },
        )

    return [message_embeddings, topic_model, reason_registry, topic_tables]


def edits_table(edits: list[Edit]) -> pd.DataFrame:
    """The analyst's edits in force for a week, one row each (the UI's table on ml/reason_events)."""
    return pd.DataFrame(
        [
            {
                "edit": e.edit_id,
                "from week": e.week,
                "action": e.action,
                "reasons": ", ".join((e.reason_id, *e.other_ids)),
                "label": e.label or "",
                "by": e.made_by,
                "at": e.made_at.strftime("%Y-%m-%d %H:%M UTC") if e.made_at else "",
                "why": e.why,
            }
            for e in edits
        ]
    )
