import subprocess
import sys

from reasonlake.demo import _console_to


def test_a_weekly_runs_output_goes_to_its_log_and_the_console_comes_back(tmp_path, capfd):
    log = tmp_path / "weekly-2026-W48.log"
    print("before")
    with _console_to(log):
        print("from this process")
        print("to stderr", file=sys.stderr)
        subprocess.run([sys.executable, "-c", "print('from a child like dbt')"], check=True)
    print("after")
    out, err = capfd.readouterr()
    assert out.split() == ["before", "after"] and err == ""
    assert log.read_text().splitlines() == ["from this process", "to stderr", "from a child like dbt"]
    with _console_to(log):  # the next week's run appends, it does not overwrite
        print("again")
    assert log.read_text().splitlines()[-1] == "again"
