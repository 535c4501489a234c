"""The streaming jobs' batching defaults as plain numbers, so the CLI shows them in its help without importing
the jobs' configuration (``flink/jobconfig.py`` builds its ``BatchPolicy`` defaults from them; the evidence for
each is in ``bench/RESULTS.md``, "Tuned defaults and why")."""

# the ingest job's Iceberg commits: at this many rows per subtask, or this long after the first pending one
INGEST_BATCH_ROWS = 50_000
INGEST_FLUSH_S = 20.0
# the alert job's micro-batches (one embedding call each): at this many messages, or this long after the first
ALERT_BATCH_SIZE = 64
ALERT_BATCH_MS = 50
