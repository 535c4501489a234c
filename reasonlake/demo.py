"""`reasonlake demo`: every stage in order on synthetic data, ending with a summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

from lake.settings import Settings


@dataclass
class DemoReport:
    """What the demo did, for the summary and for tests."""

    ingested: int = 0
    rejected: Counter = field(default_factory=Counter)
    surge_issue: str = ""
    elected_issues: list[str] = field(default_factory=list)    # surge week, by rank, as ground-truth kinds
    alert_kinds: Counter = field(default_factory=Counter)      # true kind of each alerted fresh message
    fresh_kinds: Counter = field(default_factory=Counter)      # true kind of every fresh message
    weeks_failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.weeks_failed and self.surge_issue in self.elected_issues and sum(self.alert_kinds.values()) > 0


def run_demo(settings: Settings, *, messages: int, weeks: int, seed: int, incoming: int,
             echo: Callable[[str], None] = print, keep_up: bool = False) -> DemoReport:
    from pyiceberg.expressions import EqualTo

    from reasonlake.weekly import materialize_week
    from flink import broker, kafka_io
    from flink.alert_job import run_alerts
    from flink.ingest_job import run_ingest
    from flink.jobconfig import AlertJobConfig, IngestJobConfig
    from reasonlake.synthetic import SyntheticSpec, generate, incoming as incoming_messages, topic_issues
    from lake import catalog

    started = datetime.now(timezone.utc)
    report = DemoReport()
    settings.ensure_dirs()
    if not settings.bootstrap_servers:
        echo("starting the embedded broker")
        info = broker.start(settings)
        print(f"    broker at {info.bootstrap}")
    bootstrap = broker.bootstrap_servers(settings)
    try:
        echo(f"producing {messages} synthetic messages over {weeks} weeks")
        records, truth = generate(SyntheticSpec(messages=messages, weeks=weeks, seed=seed))
        kafka_io.produce(bootstrap, ((r.topic, r.value) for r in records))
        (settings.home / "synthetic").mkdir(exist_ok=True)
        (settings.home / "synthetic" / "ground_truth.json").write_text(truth.to_json())
        print(f"    {len(records)} records ({truth.invalid} malformed, {truth.duplicates} re-sent); "
              f"surge: {truth.surge['issue']} in {truth.surge['week']}")

        echo("ingesting with the PyFlink job (until idle)")
        # a one-off backfill, all in Kafka already: full batches as configured, the tail committed
        # after 2 s instead of the streaming default (the job waits for it before it stops)
        config = IngestJobConfig.from_settings(settings)
        config = replace(config, batch=replace(config.batch, flush_interval_s=2.0))
        ingest_summary = run_ingest(settings, config, until_idle_s=8)
        print(f"    {ingest_summary}")

        results = []
        for week in truth.weeks:
            echo(f"weekly graph for {week} (dbt -> BERTopic -> election -> Feast)")
            result = materialize_week(settings, week)
            print("    " + result.summary().replace("\n", "\n    "))
            results.append(result)
            if not result.success:
                report.weeks_failed.append(week)
                return report

        echo(f"producing {incoming} fresh messages and running the alert job (until idle)")
        fresh, fresh_labels = incoming_messages(incoming, seed=seed + 1, now=datetime.now(timezone.utc),
                                                surge_issue=truth.surge["issue"])
        kafka_io.produce(bootstrap, ((r.topic, r.value) for r in fresh))
        alert_summary = run_alerts(settings, AlertJobConfig.from_settings(settings), until_idle_s=8)
        print(f"    {alert_summary}")

        # ---- summary ------------------------------------------------------------------------
        cat = catalog.load(settings)
        raw = catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).num_rows
        rejected = Counter(catalog.read(cat, "raw.feedback_rejected", selected_fields=("reason",)).column("reason").to_pylist())
        surge_week = truth.surge["week"]
        message_topics = catalog.read(cat, "ml.message_topics", row_filter=EqualTo("week", surge_week),
                                      selected_fields=("message_id", "topic_id")).to_pylist()
        issue_of_topic = topic_issues(truth.labels, message_topics)
        last = results[-1]
        surge_result = next(r for r in results if r.week == surge_week)
        elected_issues = [issue_of_topic.get(row["topic_id"], "?") for row in surge_result.elected]
        alerts = catalog.read(cat, "alerts.alerts", selected_fields=("message_id", "label")).to_pylist()
        alert_kinds = Counter(fresh_labels.get(a["message_id"], "history") for a in alerts)
        surge_ok = truth.surge["issue"] in elected_issues
        report.ingested, report.rejected, report.surge_issue = raw, rejected, truth.surge["issue"]
        report.elected_issues, report.alert_kinds = elected_issues, alert_kinds
        report.fresh_kinds = Counter(fresh_labels.values())

        echo("summary")
        print(f"    messages ingested: {raw}   rejected: {sum(rejected.values())} {dict(rejected)}")
        print(f"    elected reasons for {last.week}:")
        for row in last.elected:
            print(f"      #{row['rank']} {row['label']!r}: {row['message_count']} dissatisfied ({row['share']:.0%})")
        print(f"    ground truth: top issues of {surge_week}: {truth.top_issues(surge_week)}; "
              f"elected map to {elected_issues}; surging issue '{truth.surge['issue']}' elected: "
              f"{'YES' if surge_ok else 'NO'}")
        print(f"    alerts emitted: {len(alerts)} (by true kind of the message: {dict(alert_kinds)})")
        print(f"    took {(datetime.now(timezone.utc) - started).total_seconds():.0f}s")
        home = settings.home
        print("    next: open the Dagster UI:  .venv/bin/reasonlake --home", home, "ui   (http://127.0.0.1:3000)")
        print("          open the dbt docs:    .venv/bin/reasonlake --home", home, "docs  (http://127.0.0.1:8080)")
        print("          audit with SQL:       .venv/bin/reasonlake --home", home,
              "audit \"select label, message_count from ml.elections where elected\"")
        return report
    finally:
        if not keep_up and not settings.bootstrap_servers:
            broker.stop(settings)
