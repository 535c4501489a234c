"""`reasonlake demo`: every stage in order on synthetic data, ending with a summary."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from lake.settings import Settings
from reasonlake.synthetic import GroundTruth
from reasonlake.weekly import WeeklyResult


@dataclass
class DemoReport:
    """What the demo did, for the summary and for tests."""

    ingested: int = 0
    rejected: Counter = field(default_factory=Counter)
    surge_issue: str = ""
    elected_issues: list[str] = field(default_factory=list)  # surge week, by rank, as ground-truth kinds
    alert_kinds: Counter = field(default_factory=Counter)  # true kind of each alerted fresh message
    fresh_kinds: Counter = field(default_factory=Counter)  # true kind of every fresh message
    weeks_failed: list[str] = field(default_factory=list)
    pii: list[str] = field(default_factory=list)  # made-up personal data written into messages

    @property
    def ok(self) -> bool:
        return not self.weeks_failed and self.surge_issue in self.elected_issues and sum(self.alert_kinds.values()) > 0


def run_demo(
    settings: Settings,
    *,
    messages: int,
    weeks: int,
    seed: int,
    incoming: int,
    echo: Callable[[str], None] = print,
    keep_up: bool = False,
    pii_rate: float = 0.02,
) -> DemoReport:
    """Start the broker, produce ``weeks`` of history, ingest, run every week's graph, produce
    ``incoming`` fresh messages and alert on them; the report says whether the surge was elected.
    ``pii_rate`` of the history's messages (ten times as many fresh ones, at most all) end with
    made-up contact details, which redaction must keep out of everything but ``raw``."""
    from services import broker

    started = datetime.now(UTC)
    report = DemoReport()
    settings.ensure_dirs()
    if not settings.bootstrap_servers:
        echo("starting the embedded broker")
        print(f"    broker at {broker.start(settings).bootstrap}")
    try:
        truth = _produce_history(settings, messages, weeks, seed, echo, pii_rate)
        report.pii.extend(truth.pii)
        _ingest(settings, echo)
        results = []
        for week in truth.weeks:
            log = settings.logs_dir / f"weekly-{week}.log"
            echo(f"weekly graph for {week} (dbt -> BERTopic -> election -> Feast; its output: {log})")
            with _console_to(log):
                result = _materialize(settings, week)
            print("    " + result.summary().replace("\n", "\n    "))
            results.append(result)
            if not result.success:
                tail = log.read_text(errors="replace").splitlines()[-20:]
                print("    the end of its output:\n      " + "\n      ".join(tail))
                report.weeks_failed.append(week)
                return report
        fresh_labels = _alert_on_fresh_messages(
            settings, incoming, seed, truth, echo, min(1.0, 10 * pii_rate), report.pii
        )
        _fill_report(report, settings, truth, results, fresh_labels)
        echo("summary")
        _print_summary(report, settings, truth, results[-1], started)
        return report
    finally:
        if not keep_up and not settings.bootstrap_servers:
            broker.stop(settings)


@contextmanager
def _console_to(path: Path) -> Iterator[None]:
    """While inside, all that this process and its children (dbt) write to stdout and stderr goes to the
    end of ``path``: a weekly run's per-step output of dbt, Dagster and Feast (hundreds of lines a week)
    is kept for reading instead of scrolling the demo's own lines away."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a", buffering=1, errors="replace") as log:
        os.dup2(log.fileno(), 1)  # the children's, and this process's when sys.stdout writes to fd 1
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):  # when sys.stdout is another object (a test's)
                yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _materialize(settings: Settings, week: str) -> WeeklyResult:
    from reasonlake.weekly import materialize_week

    return materialize_week(settings, week)


def _produce_history(
    settings: Settings, messages: int, weeks: int, seed: int, echo: Callable[[str], None], pii_rate: float = 0.0
) -> GroundTruth:
    from flink import kafka_io
    from reasonlake.synthetic import SyntheticSpec, generate
    from services import broker

    echo(f"producing {messages} synthetic messages over {weeks} weeks")
    records, truth = generate(SyntheticSpec(messages=messages, weeks=weeks, seed=seed, pii_rate=pii_rate))
    kafka_io.produce(broker.intake_servers(settings), ((r.topic, r.value) for r in records))
    (settings.home / "synthetic").mkdir(exist_ok=True)
    (settings.home / "synthetic" / "ground_truth.json").write_text(truth.to_json())
    print(
        f"    {len(records)} records ({truth.invalid} malformed, {truth.duplicates} re-sent); "
        f"surge: {truth.surge['issue']} in {truth.surge['week']}"
    )
    return truth


def _ingest(settings: Settings, echo: Callable[[str], None]) -> None:
    from flink.ingest_job import run_ingest
    from flink.jobconfig import IngestJobConfig

    echo("ingesting with the PyFlink job (until idle)")
    # a one-off backfill, all in Kafka already: full batches as configured, the tail committed
    # after 2 s instead of the streaming default (the job waits for it before it stops)
    config = IngestJobConfig.from_settings(settings)
    config = replace(config, batch=replace(config.batch, flush_interval_s=2.0))
    print(f"    {run_ingest(settings, config, until_idle_s=8).describe()}")
    from lake.maintenance import RAW_TABLES
    from reasonlake.weekly import report_commits

    print(f"    {report_commits(settings, RAW_TABLES)} ingest commit(s) reported to Dagster")


def _alert_on_fresh_messages(
    settings: Settings,
    incoming: int,
    seed: int,
    truth: GroundTruth,
    echo: Callable[[str], None],
    pii_rate: float = 0.0,
    pii: list[str] | None = None,
) -> dict[str, str]:
    """Produce ``incoming`` fresh messages, run the alert job until idle; the fresh messages' true kinds."""
    from flink import kafka_io
    from flink.alert_job import run_alerts
    from flink.jobconfig import AlertJobConfig
    from reasonlake.synthetic import incoming as incoming_messages
    from services import broker

    echo(f"producing {incoming} fresh messages and running the alert job (until idle)")
    fresh, fresh_labels = incoming_messages(
        incoming, seed=seed + 1, now=datetime.now(UTC), surge_issue=truth.surge["issue"], pii_rate=pii_rate, pii=pii
    )
    kafka_io.produce(broker.intake_servers(settings), ((r.topic, r.value) for r in fresh))
    summary = run_alerts(settings, AlertJobConfig.from_settings(settings), until_idle_s=8, min_messages=len(fresh))
    print(f"    {summary.describe()}")
    from lake.schemas import ALERTS
    from reasonlake.weekly import report_commits

    print(f"    {report_commits(settings, (ALERTS.identifier,))} alert-writer commit(s) reported to Dagster")
    return fresh_labels


def _fill_report(
    report: DemoReport,
    settings: Settings,
    truth: GroundTruth,
    results: list[WeeklyResult],
    fresh_labels: dict[str, str],
) -> None:
    from pyiceberg.expressions import EqualTo

    from lake import catalog
    from reasonlake.synthetic import topic_issues

    cat = catalog.load(settings)
    surge_week = truth.surge["week"]
    message_topics = catalog.read(
        cat, "ml.message_topics", row_filter=EqualTo("week", surge_week), selected_fields=("message_id", "topic_id")
    ).to_pylist()
    issue_of_topic = topic_issues(truth.labels, message_topics)
    surge_result = next(r for r in results if r.week == surge_week)
    alerts = catalog.read(
        cat, "alerts.alerts", row_filter=EqualTo("outcome", "sent"), selected_fields=("message_id", "label")
    ).to_pylist()
    report.ingested = catalog.read(cat, "raw.feedback", selected_fields=("message_id",)).num_rows
    report.rejected = Counter(
        catalog.read(cat, "raw.feedback_rejected", selected_fields=("reason",)).column("reason").to_pylist()
    )
    report.surge_issue = truth.surge["issue"]
    report.elected_issues = [issue_of_topic.get(row["topic_id"], "?") for row in surge_result.elected]
    report.alert_kinds = Counter(fresh_labels.get(a["message_id"], "history") for a in alerts)
    report.fresh_kinds = Counter(fresh_labels.values())


def _print_summary(
    report: DemoReport, settings: Settings, truth: GroundTruth, last: WeeklyResult, started: datetime
) -> None:
    surge_week = truth.surge["week"]
    print(
        f"    messages ingested: {report.ingested}   rejected: {sum(report.rejected.values())} {dict(report.rejected)}"
    )
    print(f"    elected reasons for {last.week}:")
    for row in last.elected:
        print(f"      #{row['rank']} {row['label']!r}: {row['message_count']} dissatisfied ({row['share']:.0%})")
    surge_ok = report.surge_issue in report.elected_issues
    print(
        f"    ground truth: top issues of {surge_week}: {truth.top_issues(surge_week)}; "
        f"elected map to {report.elected_issues}; surging issue '{report.surge_issue}' elected: "
        f"{'YES' if surge_ok else 'NO'}"
    )
    print(
        f"    alerts emitted: {sum(report.alert_kinds.values())} (by true kind of the message: {dict(report.alert_kinds)})"
    )
    print(f"    took {(datetime.now(UTC) - started).total_seconds():.0f}s")
    home = settings.home
    print("    next: open the Dagster UI:  .venv/bin/reasonlake --home", home, "ui   (http://127.0.0.1:3000)")
    print("          open the dbt docs:    .venv/bin/reasonlake --home", home, "docs  (http://127.0.0.1:8080)")
    print(
        "          audit with SQL:       .venv/bin/reasonlake --home",
        home,
        'audit "select label, message_count from ml.elections where elected"',
    )
