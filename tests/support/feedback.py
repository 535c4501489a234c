"""Numbered feedback records for the ingestion tests: ``feedback.<source>`` topics in turn, every
``invalid_every``-th record not JSON (``not json #i``), the rest valid messages ``<source>-<i>``."""

from __future__ import annotations

import json

SOURCES = ("crm", "support_portal", "review_portal")


def feedback_records(start: int, n: int, invalid_every: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(start, start + n):
        source = SOURCES[i % len(SOURCES)]
        if i % invalid_every == 0:
            value = f"not json #{i}".encode()
        else:
            value = json.dumps(
                {
                    "message_id": f"{source}-{i}",
                    "source": source,
                    "text": f"slow refund number {i}",
                    "created_at": "2026-01-05T10:00:00Z",
                }
            ).encode()
        out.append((f"feedback.{source}", value))
    return out
