import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from lake import catalog
from lake.settings import Settings


def test_audit_answers_a_query_through_the_console_script(tmp_path):
    settings = Settings(home=tmp_path)
    cat = catalog.load(settings)
    now = datetime(2026, 11, 16, 10, tzinfo=UTC)
    rows = [
        {
            "reason": r,
            "detail": "d",
            "raw_value": b"x",
            "message_id": None,
            "source": "crm",
            "kafka_topic": "feedback.crm",
            "kafka_partition": 0,
            "kafka_offset": i,
            "kafka_timestamp": now,
            "rejected_at": now,
        }
        for i, r in enumerate(["not_json", "not_json", "empty_text"])
    ]
    catalog.append(catalog.ensure_table(cat, "raw.feedback_rejected"), catalog.to_arrow("raw.feedback_rejected", rows))
    exe = Path(sys.executable).parent / "reasonlake"
    out = subprocess.run(
        [
            str(exe),
            "--home",
            str(tmp_path),
            "audit",
            "--format",
            "json",
            "select reason, count(*) as n from raw.feedback_rejected group by reason order by n desc",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [{"reason": "not_json", "n": 2}, {"reason": "empty_text", "n": 1}]
