"""The CLI's options, usage errors and wiring (no services: external Kafka named, jobs replaced)."""

import pytest
from click.testing import CliRunner

from reasonlake.cli import cli


def test_help_documents_every_command():
    out = CliRunner().invoke(cli, ["--help"]).output
    for command in (
        "run",
        "up",
        "down",
        "status",
        "produce",
        "ingest",
        "weekly",
        "report",
        "alerts",
        "audit",
        "demo",
        "ui",
        "docs",
    ):
        assert f"  {command} " in out, command


def test_ingest_commit_policy_options_show_the_defaults_and_refuse_nonsense(tmp_path):
    from flink.jobconfig import BatchPolicy

    out = " ".join(CliRunner().invoke(cli, ["ingest", "--help"]).output.split())
    assert f"[default: {BatchPolicy.batch_size}]" in out and f"[default: {BatchPolicy.flush_interval_s:g}]" in out
    for bad in (["--batch-size", "0"], ["--flush-interval", "0"]):
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "ingest", *bad])
        assert result.exit_code == 2, bad


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "99999"],
        ["ui", "--port", "0"],
        ["docs", "--port", "70000"],
        ["run", "--port", "-1"],
        ["maintain", "--retain-last", "0"],
        ["maintain", "--expire-older-than", "-1"],
        ["maintain", "--target-file-mb", "0"],
        ["ingest", "--until-idle", "-5"],
        ["alerts", "--until-idle", "-5"],
        ["produce", "--synthetic", "0"],
        ["produce", "--synthetic", "10", "--weeks", "0"],
        ["produce", "--synthetic", "10", "--invalid-rate", "1.5"],
        ["demo", "--messages", "0"],
        ["demo", "--incoming", "-1"],
    ],
)
def test_a_value_out_of_range_is_a_usage_error_naming_the_option(tmp_path, command):
    """Caught by the CLI before anything starts (exit 2, the option named), not an 'internal error'."""
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), *command])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{command[-2]}'" in result.output and "internal error" not in result.output


def test_ingest_passes_the_commit_policy_to_the_job(tmp_path, monkeypatch):
    import flink.ingest_job
    from flink.jobconfig import BatchPolicy

    seen = []
    ran = flink.ingest_job.IngestSummary(1234, 5, 6, 7, 8.04, {})
    monkeypatch.setattr(
        flink.ingest_job,
        "run_ingest",
        lambda settings, config, until_idle_s: seen.append((config.batch, until_idle_s)) or ran,
    )
    base = ["--home", str(tmp_path), "--bootstrap-servers", "kafka:9092", "ingest"]
    for options, expected in (
        (["--batch-size", "7", "--flush-interval", "3"], BatchPolicy(7, 3.0)),
        (["--flush-interval", "3"], BatchPolicy(flush_interval_s=3.0)),
        ([], BatchPolicy()),
    ):
        result = CliRunner().invoke(cli, base + options + ["--until-idle", "2"])
        assert result.exit_code == 0, result.output
        assert seen.pop() == (expected, 2.0)
    # what the run did, in words (not the summary's repr)
    assert result.output.splitlines()[0] == (
        "ingest finished: 1,234 accepted into raw.feedback, 5 rejected into raw.feedback_rejected (with their "
        "reason), 6 already in the lake skipped, 7 re-sent message ids kept for dbt to deduplicate; 8.0 s"
    )


def test_status_when_down_exits_1(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "status"])
    assert result.exit_code == 1


def test_external_bootstrap_is_reported(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--bootstrap-servers", "kafka:9092", "status"])
    assert result.exit_code == 0 and result.output.strip() == "kafka:9092"


def test_produce_needs_exactly_one_input(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--bootstrap-servers", "x:1", "produce"])
    assert result.exit_code == 2 and "exactly one" in result.output


def test_weekly_rejects_a_bad_week(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "weekly", "--week", "2026-46"])
    assert result.exit_code == 2 and "ISO" in result.output


def test_weekly_says_which_weeks_it_can_run(tmp_path):
    """A week outside the weekly partitions (an archive week before the first week, a week not over
    yet) is a usage error naming the range, not Dagster's unknown-partition traceback. The partitions
    start at REASONLAKE_FIRST_WEEK, else at the data's first week (an empty home: the last complete week)."""
    from datetime import UTC, datetime

    from lake.weeks import last_complete_week

    for week in ("2015-W08", "2099-W01"):
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "weekly", "--week", week])
        assert result.exit_code == 2, result.output
        first = last_complete_week(datetime.now(UTC))
        assert f"{week} is not a weekly partition: they run from {first} " in " ".join(result.output.split())
        assert f"to {first}, the last complete week" in " ".join(result.output.split())
    configured = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "weekly", "--week", "2015-W08"], env={"REASONLAKE_FIRST_WEEK": "2024-W01"}
    )
    assert configured.exit_code == 2 and "they run from 2024-W01 " in " ".join(configured.output.split())


def test_destroy_needs_an_explicit_home_and_yes(tmp_path):
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    (home / "warehouse" / "data.parquet").write_text("x")
    no_home = CliRunner().invoke(cli, ["destroy", "--yes"], env={"REASONLAKE_HOME": str(home)})
    no_yes = CliRunner().invoke(cli, ["--home", str(home), "destroy"])
    assert no_home.exit_code == no_yes.exit_code == 2 and home.exists()
    assert "--home" in no_home.output and "--yes" in no_yes.output
    done = CliRunner().invoke(cli, ["--home", str(home), "destroy", "--yes"])
    assert done.exit_code == 0 and not home.exists(), done.output
    again = CliRunner().invoke(cli, ["--home", str(home), "destroy", "--yes"])
    assert again.exit_code == 0 and "nothing to delete" in again.output


def test_make_clean_never_deletes_a_home():
    from tests.support.paths import REPO

    recipe = (REPO / "Makefile").read_text().split("\nclean:", 1)[1].split("\n\n", 1)[0]
    assert ".reasonlake" not in recipe and "rm -rf" in recipe
