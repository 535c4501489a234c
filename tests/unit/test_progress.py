"""Idle detection over progress files (pure)."""

from __future__ import annotations

from flink.progress import (
    MIN_RECORDS_WAIT_S,
    UNOPENED_GRACE_S,
    Progress,
    clear_progress,
    is_idle,
    read_progress,
    totals,
    unread,
    write_progress,
)


def p(subtask: int, started: float = 100.0, last: float | None = None, pending: int = 0, **counts: int) -> Progress:
    return Progress(
        run_id="r",
        subtask=subtask,
        started_at=started,
        updated_at=started,
        last_record_at=last,
        pending=pending,
        records_seen=sum(counts.values()),
        counts=counts,
    )


def test_totals_add_up_subtasks() -> None:
    t = totals([p(0, last=120.0, accepted=3, rejected=1), p(1, started=101.0, pending=2, accepted=5)])
    assert (t.subtasks, t.records_seen, t.pending, t.count("accepted"), t.count("rejected"), t.count("x")) == (
        2,
        9,
        2,
        8,
        1,
        0,
    )
    assert t.last_activity_at == 120.0


def test_idle_needs_nothing_pending_and_quiet_time() -> None:
    quiet = totals([p(0, last=110.0), p(1)])
    assert is_idle(quiet, now=115.0, idle_s=5)
    assert not is_idle(quiet, now=114.9, idle_s=5)
    assert not is_idle(totals([p(0, last=110.0, pending=1)]), now=200.0, idle_s=5)
    assert not is_idle(totals([]), now=200.0, idle_s=5)  # nothing reported at all
    # a subtask that never received anything counts from when it opened
    assert is_idle(totals([p(0, started=100.0)]), now=105.0, idle_s=5)


def test_before_the_first_record_the_job_waits_longer() -> None:
    nothing_yet = totals([p(0, started=100.0)])
    assert not is_idle(nothing_yet, now=105.0, idle_s=5, first_record_wait_s=20)
    assert is_idle(nothing_yet, now=120.0, idle_s=5, first_record_wait_s=20)
    seen = totals([p(0, started=100.0, last=101.0, accepted=1)])
    assert seen.records_seen == 1
    assert is_idle(seen, now=106.0, idle_s=5, first_record_wait_s=20)


def test_a_subtask_that_never_reported_gets_a_grace_then_idle_comes_anyway() -> None:
    quiet = totals([p(0, last=110.0, accepted=4)])
    assert is_idle(quiet, now=115.0, idle_s=5, all_open=True)
    assert not is_idle(quiet, now=115.0 + UNOPENED_GRACE_S - 0.1, idle_s=5, all_open=False)
    assert is_idle(quiet, now=115.0 + UNOPENED_GRACE_S, idle_s=5, all_open=False)  # it may never open


def test_fewer_records_than_expected_wait_longer_then_idle_comes_anyway() -> None:
    three = totals([p(0, last=110.0, accepted=3)])
    assert is_idle(three, now=115.0, idle_s=5, min_records=3)
    assert not is_idle(three, now=115.0 + MIN_RECORDS_WAIT_S - 0.1, idle_s=5, min_records=4)
    assert is_idle(three, now=115.0 + MIN_RECORDS_WAIT_S, idle_s=5, min_records=4)  # they never came
    # the larger of the two waits, not their sum
    assert is_idle(three, now=115.0 + MIN_RECORDS_WAIT_S, idle_s=5, min_records=4, all_open=False)
    # and before the first record the first-record wait counts from the same quiet time
    nothing = totals([p(0, started=100.0)])
    assert not is_idle(nothing, now=100.0 + MIN_RECORDS_WAIT_S + 4, idle_s=5, first_record_wait_s=20, min_records=1)
    assert is_idle(nothing, now=100.0 + MIN_RECORDS_WAIT_S + 5, idle_s=5, first_record_wait_s=20, min_records=1)


def test_records_known_on_the_broker_and_not_read_hold_off_idleness_for_a_bounded_time() -> None:
    a = Progress("r", 0, 100.0, 100.0, last_record_at=110.0, positions={"feedback.crm#0": 149, "feedback.web#1": 2})
    b = Progress("r", 1, 100.0, 100.0, positions={"feedback.crm#0": 139, "feedback.a#b#0": 4})
    t = totals([a, b])
    assert t.positions == {("feedback.crm", 0): 149, ("feedback.web", 1): 2, ("feedback.a#b", 0): 4}
    # end offsets (lower bounds) against what was done: a partition never read counts from offset 0
    ends = {("feedback.crm", 0): 150, ("feedback.web", 0): 1, ("feedback.web", 1): 10, ("feedback.app", 0): 0}
    assert unread(ends, t.positions) == 0 + 1 + 7 + 0
    assert unread({}, t.positions) == 0 and unread({("feedback.crm", 0): 120}, t.positions) == 0
    assert is_idle(t, now=115.0, idle_s=5) and not is_idle(t, now=115.0, idle_s=5, behind=True)
    assert not is_idle(t, now=115.0 + MIN_RECORDS_WAIT_S - 0.1, idle_s=5, behind=True)
    assert is_idle(t, now=115.0 + MIN_RECORDS_WAIT_S, idle_s=5, behind=True)  # a wrong count cannot hang a run


def test_a_backlog_is_asked_at_most_every_interval_said_once_and_a_failing_count_does_not_hold_off(capsys) -> None:
    from flink.watches import BacklogWatch

    answers = iter([3, 2, 0])
    watch = BacklogWatch("ingest", lambda _t: next(answers), every_s=2.0)
    t = totals([])
    assert watch.check(t, 0.0) and watch.check(t, 1.0)  # asked once: 3, then remembered
    assert watch.check(t, 2.0)  # 2
    assert not watch.check(t, 4.0)  # 0: caught up
    out = capsys.readouterr().out
    assert out.count("not read yet") == 1 and "at least 3 record(s)" in out

    def broken(_t):
        raise OSError("the broker does not answer")

    assert not BacklogWatch("ingest", broken).check(t, 0.0)
    assert not BacklogWatch("ingest", None).check(t, 0.0)


def test_files_round_trip_and_clear(tmp_path) -> None:
    write_progress(tmp_path, p(0, last=3.5, accepted=2))
    write_progress(tmp_path, Progress(run_id="other", subtask=1, started_at=1.0, updated_at=1.0))
    assert read_progress(tmp_path, "r") == [p(0, last=3.5, accepted=2)]
    clear_progress(tmp_path)
    assert read_progress(tmp_path, "r") == [] and list(tmp_path.iterdir()) == []


def test_an_outage_is_said_once_when_it_starts_and_once_when_it_ends_and_holds_off_idleness(capsys) -> None:
    from flink.watches import OutageWatch

    state = {"problem": None}
    watch = OutageWatch("ingest", lambda: state["problem"], every_s=1.0)
    watch.check(0.0)
    assert watch.quiet_for(10.0) == float("inf") and capsys.readouterr().out == ""
    state["problem"] = "the Kafka broker at 127.0.0.1:9 does not answer"
    for t in (1.0, 2.0, 3.0):
        watch.check(t)
        assert watch.quiet_for(t) == 0.0
    assert capsys.readouterr().out.count("does not answer") == 1
    watch.check(3.5)  # checked at most every second: still in the outage
    assert watch.quiet_for(3.5) == 0.0
    state["problem"] = None
    watch.check(4.0)
    assert "back after 3 s" in capsys.readouterr().out
    assert watch.quiet_for(9.0) == 5.0


def test_a_task_failure_is_kept_in_one_line_per_subtask_for_its_run_only(tmp_path) -> None:
    from flink.progress import read_failures, record_failure

    record_failure(tmp_path, "r", 0, OSError(28, "No space left on device\n at the warehouse"))
    record_failure(tmp_path, "old", 1, RuntimeError("an earlier run"))
    assert read_failures(tmp_path, "r") == ["OSError: [Errno 28] No space left on device at the warehouse"]
    clear_progress(tmp_path)
    assert read_failures(tmp_path, "old") == []
    (tmp_path / "file").write_text("not a folder")
    record_failure(tmp_path / "file", "r", 0, RuntimeError("x"))  # best effort: never raises


def test_status_says_what_the_latest_progress_file_of_any_run_said(tmp_path):
    from lake.settings import Settings
    from reasonlake.system import PROGRESS_DIRS, last_progress

    settings = Settings(home=tmp_path)
    folder = settings.run_dir.joinpath(*PROGRESS_DIRS["ingest"])
    assert last_progress(settings, "ingest") == "no progress yet" and last_progress(settings, "supervisor") == ""
    write_progress(folder, Progress("old-run", 0, 100.0, 100.0, counts={"accepted": 3}))
    write_progress(folder, Progress("new-run", 1, 200.0, 200.0, counts={"accepted": 7, "rejected": 1, "x": 9}))
    (folder / "progress-9.json").write_text("{half a file")  # skipped, not an error
    assert last_progress(settings, "ingest") == "accepted 7, rejected 1 at 1970-01-01T00:03:20+00:00"
    assert read_progress(folder) == read_progress(folder, "old-run") + read_progress(folder, "new-run")
