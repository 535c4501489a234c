"""The home's local S3 object store: PyPI ``localbucket`` (:mod:`services.localbucket_server`) over plain files
under ``<home>/broker-s3/``, its pid and port in ``<home>/run/broker-s3.json``, its log ``logs/localbucket.log``.

One server per home holds the embedded broker's records (``s3`` storage, :mod:`services.broker`) and, with
``reasonlake up --profile cluster``, the Iceberg warehouse (bucket ``warehouse``: :func:`s3_properties`).
One already running is reused, so a broker restarted after a crash finds its data.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from lake.settings import Settings
from services import process
from services.errors import BrokerStartError, EngineError

ACCESS_KEY = SECRET_KEY = "reasonlake"  # the local server's fixed development credentials
REGION = "us-east-1"
START_ATTEMPTS = 3  # the free port may be taken between probing and binding
START_TIMEOUT_S = 15.0
# one line per request in logs/localbucket.log (diagnosis: bench/alerts.py --log-object-store)
log_requests = False


def state_file(settings: Settings) -> Path:
    return settings.run_dir / "broker-s3.json"


def data_dir(settings: Settings) -> Path:
    return settings.home / "broker-s3"


def log_file(settings: Settings) -> Path:
    return settings.logs_dir / "localbucket.log"


def running(settings: Settings) -> dict | None:
    """``{"pid", "port"}`` of this home's S3 server if it runs and answers."""
    state = process.read_json(state_file(settings))
    try:
        pid, port = int(state["pid"]), int(state["port"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None
    if process.gone(pid) or not process.runs(pid, b"localbucket") or not process.listens(pid, port):
        return None
    return {"pid": pid, "port": port} if process.port_answers(port) else None


def endpoint(state: dict) -> str:
    return f"http://{process.HOST}:{state['port']}"


def start(settings: Settings) -> str:
    """The endpoint of this home's S3 server, started when it does not run (idempotent)."""
    state = running(settings)
    if state is not None:
        return endpoint(state)
    data = data_dir(settings)
    data.mkdir(parents=True, exist_ok=True)
    outcome = ""
    for _ in range(START_ATTEMPTS):
        port = process.free_port()
        argv = [sys.executable, "-m", "services.localbucket_server", "--host", process.HOST, "--port", str(port)]
        proc = process.spawn(argv + [str(data)] + (["--log-requests"] if log_requests else []), log_file(settings))
        if process.wait_listening(proc, port, START_TIMEOUT_S):
            process.write_json(state_file(settings), {"pid": proc.pid, "port": port})
            return endpoint({"port": port})
        outcome = f"exit code {proc.returncode}" if proc.poll() is not None else "no answer"
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    raise BrokerStartError(f"the localbucket S3 server did not start ({outcome}); see {log_file(settings)}")


def stop(settings: Settings) -> bool:
    """Stop this home's S3 server; False when none was running."""
    state = process.read_json(state_file(settings))
    stopped = False
    if state is not None and "pid" in state:
        pid = int(state["pid"])
        if not process.gone(pid) and process.runs(pid, b"localbucket"):
            process.terminate(pid)
            stopped = True
    state_file(settings).unlink(missing_ok=True)
    return stopped


def ensure_bucket(url: str, bucket: str) -> None:
    """Create ``bucket`` on the server at ``url`` unless it exists."""
    request = urllib.request.Request(f"{url}/{bucket}", method="PUT")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # BucketAlreadyOwnedByYou / BucketAlreadyExists
            raise EngineError(f"cannot create bucket {bucket!r} at {url}: HTTP {exc.code}") from None
    except OSError as exc:
        raise EngineError(f"cannot create bucket {bucket!r} at {url}: {exc}") from None


def start_warehouse(settings: Settings, bucket: str = "warehouse") -> str:
    """The endpoint of the home's S3 server (started when needed) with ``bucket`` created: where
    ``reasonlake up --profile cluster`` keeps the Iceberg warehouse."""
    url = start(settings)
    ensure_bucket(url, bucket)
    return url


def client_env(url: str) -> dict[str, str]:
    """The environment an S3 client of the local server (Tansu) needs."""
    return {
        "AWS_ENDPOINT": url,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def s3_properties(url: str) -> dict[str, str]:
    """pyiceberg's S3 FileIO properties for the local server."""
    return {"s3.endpoint": url, "s3.access-key-id": ACCESS_KEY, "s3.secret-access-key": SECRET_KEY, "s3.region": REGION}
