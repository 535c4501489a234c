"""Notifications on real parts: a Dagster instance with a failed run and a failed blocking check, the
two ops sensors, the embedded broker's ``feedback.ops`` topic and a local webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    materialize,
)

from dagster_project.ops.sensors import ops_failed_checks, ops_run_failures
from dagster_project.resources import ReasonlakeResource
from flink import kafka_io
from lake.settings import OPS_TOPIC


@asset
def weekly_thing() -> int:
    return 1


@asset_check(asset=weekly_thing, blocking=True)
def gate_share() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.ERROR, metadata={"why": "NOT promoted: 0.4 > 0.25"}
    )


@asset
def broken_thing() -> int:
    raise RuntimeError("the week has no messages")


class Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        Hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_failed_gate_and_a_failed_run_reach_feedback_ops_and_the_webhook(settings, broker) -> None:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = settings.replace(ops_webhook_url=f"http://127.0.0.1:{server.server_port}/ops")
    resources = {"reasonlake": ReasonlakeResource.from_settings(settings)}
    try:
        with DagsterInstance.ephemeral() as instance:
            first = ops_failed_checks(build_sensor_context(instance=instance, resources=resources))
            assert materialize([weekly_thing, gate_share], instance=instance, raise_on_error=False)
            checks = ops_failed_checks(
                build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
            )
            assert int(checks.cursor) > int(first.cursor)

            failed = materialize([broken_thing], instance=instance, raise_on_error=False)
            assert not failed.success
            failure = next(e for e in failed.all_events if e.event_type_value == "PIPELINE_FAILURE")
            context = build_run_status_sensor_context(
                sensor_name="ops_run_failures",
                dagster_instance=instance,
                dagster_run=failed.dagster_run,
                dagster_event=failure,
                resources=resources,
            ).for_run_failure()
            ops_run_failures(context)
    finally:
        server.shutdown()

    records = kafka_io.consume(broker.bootstrap, [OPS_TOPIC], max_idle_s=2.0)
    events = sorted((json.loads(r.value) for r in records), key=lambda e: e["kind"])
    assert [e["kind"] for e in events] == ["check_failed", "run_failed"]
    gate, run = events
    assert (gate["check"], gate["blocking"], gate["why"]) == ("gate_share", True, "NOT promoted: 0.4 > 0.25")
    assert run["run_id"] == failed.run_id and run["job"] == failed.dagster_run.job_name
    assert sorted(Hook.bodies, key=lambda e: e["kind"]) == events  # the webhook got the same two events
