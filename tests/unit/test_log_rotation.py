"""The supervisor's log rotation: a log past its size is kept as ``.1`` and emptied in place, so the
services that hold it open in append mode go on writing to it, from its start."""

import os

from reasonlake.services import rotate_logs


def test_a_log_past_its_size_is_rotated_in_place_and_its_writer_goes_on(tmp_path):
    log = tmp_path / "ingest.log"
    with open(log, "ab", buffering=0) as writer:  # as the supervisor hands it to a service: append mode
        writer.write(b"x" * 2000)
        (tmp_path / "small.log").write_bytes(b"y" * 10)
        (tmp_path / "notes.txt").write_bytes(b"z" * 5000)
        assert rotate_logs(tmp_path, max_bytes=1000, keep=3) == [
            "rotated logs/ingest.log (over 0 MB; the last 3 kept as ingest.log.1…)"
        ]
        assert (tmp_path / "ingest.log.1").read_bytes() == b"x" * 2000
        assert log.stat().st_size == 0
        writer.write(b"after\n")  # the service's next line starts the emptied file (no hole before it)
        assert log.read_bytes() == b"after\n"
        assert (tmp_path / "small.log").read_bytes() == b"y" * 10 and not (tmp_path / "small.log.1").exists()
        assert not (tmp_path / "notes.txt.1").exists()  # logs only


def test_the_newest_rotations_are_kept_and_the_oldest_dropped(tmp_path):
    log = tmp_path / "dagster-daemon.log"
    for round_ in range(5):
        log.write_bytes(str(round_).encode() * 2000)
        said = rotate_logs(tmp_path, max_bytes=1000, keep=3)
        assert [line.split()[1] for line in said] == ["logs/dagster-daemon.log"]
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["dagster-daemon.log", "dagster-daemon.log.1", "dagster-daemon.log.2", "dagster-daemon.log.3"]
    assert [(tmp_path / f"dagster-daemon.log.{n}").read_bytes()[:1] for n in (1, 2, 3)] == [b"4", b"3", b"2"]
    assert os.path.getsize(log) == 0


def test_a_log_that_cannot_be_rotated_is_said_and_the_others_still_are(tmp_path):
    """A full disk or a file it may not write must not stop the supervisor (it calls this every minute)."""
    (tmp_path / "alerts.log").write_bytes(b"a" * 2000)
    (tmp_path / "ingest.log").write_bytes(b"i" * 2000)
    (tmp_path / "alerts.log.1").mkdir()  # where the copy goes cannot be written
    said = rotate_logs(tmp_path, max_bytes=1000, keep=1)
    assert said[0].startswith("could not rotate logs/alerts.log: ") and said[1].startswith("rotated logs/ingest.log")
    assert (tmp_path / "alerts.log").stat().st_size == 2000  # left as it was, for the next minute
    assert (tmp_path / "ingest.log").stat().st_size == 0
