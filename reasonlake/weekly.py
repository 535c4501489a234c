"""Run the weekly job in process against the persistent Dagster instance of a home, so every
CLI run shows up in the Dagster UI (materializations, lineage, checks).

The job's resources are built from the command's :class:`Settings` and handed to Dagster: nothing
travels through the environment.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lake.settings import Settings
from lake.weeks import week_to_partition_key

if TYPE_CHECKING:
    from reasons.registry.edits import Edit


@dataclass(frozen=True)
class WeeklyResult:
    week: str
    success: bool
    run_id: str
    elected: list[dict] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)  # "step: why"

    def summary(self) -> str:
        if not self.success:
            return f"week {self.week}: FAILED (run {self.run_id}) at {'; '.join(self.failed_steps) or 'unknown step'}"
        lines = [f"week {self.week}: elected {len(self.elected)} reason(s) (run {self.run_id})"]
        for row in self.elected:
            lines.append(
                f"  #{row['rank']} {row['label']!r}: {row['message_count']} dissatisfied messages ({row['share']:.0%})"
            )
        return "\n".join(lines)


# One weekly run at a time: the weekly job's runs (schedule, sensor, launched from the UI) and the runs
# of a backfill wait in the run queue for the one before (they share the dbt DuckDB file and the
# registry; ml/reasons depends on the previous week, so a backfill's weeks come in order).
# Ticks are kept for a while, not for ever (Dagster's default for a successful sensor tick): the sensors
# tick every 30 s to 5 minutes for as long as the system runs (the ops sensors: 2,880 ticks a day each).
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_queue:
  tag_concurrency_limits:
    - key: reasonlake/weekly
      limit: 1
    - key: dagster/backfill
      limit: 1
retention:
  schedule:
    purge_after_days: 90
  sensor:
    purge_after_days:
      skipped: 7
      success: 14
      failure: 90
      started: 14
"""


def dagster_home(settings: Settings) -> Path:
    """The home's persistent Dagster instance (shared by CLI runs and ``reasonlake ui``); its
    ``dagster.yaml`` is (re)written when it differs from :data:`DAGSTER_YAML`."""
    path = settings.dagster_dir
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists() or config.read_text() != DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)
    return path


def report_commits(settings: Settings, identifiers: Sequence[str]) -> int:
    """Report the commits of ``identifiers`` the home's Dagster instance has not seen as materializations of
    their assets (the daemon's sensors, ``raw_feedback_commits`` and ``alerts_commits``, do the same while
    it runs); how many."""
    from dagster import DagsterInstance

    from dagster_project import commits
    from lake import catalog

    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        return commits.report_commits(instance, catalog.load(settings), identifiers)


def report_edit(settings: Settings, edit: Edit) -> None:
    """An analyst's edit as an observation of ``ml/reason_events`` in the home's Dagster instance: the UI shows it
    the moment it is recorded (the next run of the week applies it, and lists it in that asset's metadata)."""
    from dagster import AssetObservation, DagsterInstance

    from dagster_project.topics.assets import REASON_EVENTS

    observation = AssetObservation(
        asset_key=REASON_EVENTS,
        description=f"edit recorded: {edit.describe()}",
        metadata={
            "edit_id": edit.edit_id,
            "action": edit.action,
            "reason_id": edit.reason_id,
            "in_force_from": edit.week,
            "made_by": edit.made_by,
            "why": edit.why,
        },
    )
    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        instance.report_runless_asset_event(observation)


def definitions_for(settings: Settings):
    """The project's domains with the shared resource built from ``settings``."""
    from dagster_project.definitions import compose
    from dagster_project.resources import ReasonlakeResource

    return compose(settings, ReasonlakeResource.from_settings(settings))


def _failure(event) -> str:
    """``step: why`` of a step-failure event (a ``Failure``'s description, else the error's message)."""
    data = event.step_failure_data
    why = (data.user_failure_data.description if data.user_failure_data else None) or (
        data.error.message.strip().splitlines()[-1] if data.error and data.error.message.strip() else ""
    )
    return f"{event.step_key}: {' '.join(why.split())}" if why else str(event.step_key)


def materialize_week(settings: Settings, week: str, log_level: str = "INFO") -> WeeklyResult:
    from dagster import DagsterInstance
    from pyiceberg.expressions import And, EqualTo

    from lake import catalog

    instance = DagsterInstance.from_config(str(dagster_home(settings)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # preview/beta notices of Dagster APIs, not user problems
        job = definitions_for(settings).resolve_job_def("weekly")
        result = job.execute_in_process(
            partition_key=week_to_partition_key(week),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    failed = [_failure(e) for e in result.all_events if e.is_step_failure and e.step_key]
    elected: list[dict] = []
    if result.success:
        rows = catalog.read(
            catalog.load(settings), "ml.elections", row_filter=And(EqualTo("week", week), EqualTo("elected", True))
        ).to_pylist()
        elected = sorted(rows, key=lambda r: r["rank"])
    return WeeklyResult(week=week, success=result.success, run_id=result.run_id, elected=elected, failed_steps=failed)
