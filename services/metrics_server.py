"""One Prometheus collector served alone over HTTP: what the alert job's driver (``flink/metrics.py``) and the
broker's intake (``services/intake_metrics.py``) expose at ``/metrics``."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.registry import Collector


def serve(collector: Collector, port: int, host: str = "127.0.0.1") -> tuple[WSGIServer, int]:
    """Serve ``collector`` (alone, in a registry of its own) at ``http://host:port/metrics``; port 0 picks a
    free one. Returns the server (``shutdown()`` stops it) and its port."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_port)
