"""The alert rate limiter's decisions (``flink/java/.../RateWindow.java``, what ``AlertRateLimiter`` keeps in
Flink keyed state), checked in Java without Flink: a burst, the timer's digest, the next window opening at
the next alert, and the early digest of a window whose end passed before its timer fired (a path a real
job reaches only when an alert wins that race). The operator itself runs in ``test_alert_job.py``."""

from __future__ import annotations

import subprocess

from tests.support.paths import REPO


def test_rate_window_decisions(tmp_path) -> None:
    sources = [
        REPO / "flink/java/io/reasonlake/flink/RateWindow.java",
        REPO / "tests/java/io/reasonlake/flink/RateWindowCheck.java",
    ]
    subprocess.run(["javac", "-nowarn", "-d", str(tmp_path), *map(str, sources)], check=True, timeout=120)
    run = subprocess.run(
        ["java", "-cp", str(tmp_path), "io.reasonlake.flink.RateWindowCheck"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("all decisions right")
    assert "early, after the end" in run.stdout
