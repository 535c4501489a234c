"""The broker's object store: PyPI ``localbucket``'s S3 server with two fixes for Tansu's access pattern.

Run as ``python -m services.localbucket_server --host H --port P DATA_ROOT`` (:mod:`services.object_store`
starts it). Tansu's ``s3://`` engine writes one object per produce batch and, on every fetch, lists a
partition's objects and reads them one by one; ``localbucket`` as shipped made both slow
(docs/history/results-journal.md, section "Broker: a steady stream of single messages"; figures today:
bench/RESULTS.md, "Broker: the embedded s3 storage"):

- its handler writes a response's headers and body in separate sends, so with Nagle's algorithm on every
  GET waited for the client's delayed ACK (~40 ms): a reader got ~25 stored batches a second. Here
  ``TCP_NODELAY`` is set on every connection;
- every ListObjects walked the whole bucket (every stored batch of every topic) and sorted it, so a list
  cost grew with everything ever stored. Here it walks only the folder the prefix names: the same keys,
  in the same order (a key under another folder cannot start with the prefix).

What stays: Tansu lists every stored batch of a partition on each fetch, so a fetch costs time in
proportion to the batches the partition holds (29 ms at 1,000, 60 ms a page at 5,000), and a reader whose
``fetch.max.wait.ms`` is shorter than that listing gets nothing, ever (:data:`flink.jobconfig` keeps the
alert job's wait above it on this storage); retention (:func:`services.broker.prune_records`) bounds it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

import localbucket


class BrokerBucketHandler(localbucket.S3Handler):
    disable_nagle_algorithm = True

    def _list_entries(
        self,
        bucket_dir: Path,
        prefix: str,
        delimiter: str,
        marker: str,
        marker_is_prefix: bool,
        max_keys: int,
    ) -> tuple[list[tuple[str, Path]], list[str], bool, str]:
        """localbucket's own listing (a page of keys and common prefixes after the marker), over the
        prefix's folder only."""
        folder = prefix.rpartition("/")[0]
        scope = bucket_dir.joinpath(*folder.split("/")) if folder else bucket_dir
        keys = []
        for directory, _, files in os.walk(scope):
            for name in files:
                if name.startswith(localbucket.TEMP_PREFIX):
                    continue
                path = Path(directory, name)
                key = path.relative_to(bucket_dir).as_posix()
                if key.startswith(prefix):
                    keys.append((key, path))
        keys.sort(key=lambda item: item[0].encode())
        contents: list[tuple[str, Path]] = []
        common_prefixes: list[str] = []
        last_entry, truncated = "", False
        for key, path in keys:
            if marker and (key.encode() <= marker.encode() or (marker_is_prefix and key.startswith(marker))):
                continue
            common = ""
            if delimiter:
                index = key.find(delimiter, len(prefix))
                if index >= 0:
                    common = key[: index + len(delimiter)]
            if common and common_prefixes and common_prefixes[-1] == common:
                continue
            if len(contents) + len(common_prefixes) >= max_keys:
                truncated = max_keys > 0
                break
            if common:
                common_prefixes.append(common)
                last_entry = "P:" + common
            else:
                contents.append((key, path))
                last_entry = "K:" + key
        return contents, common_prefixes, truncated, last_entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="services.localbucket_server", description=__doc__.splitlines()[0])
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-requests", action="store_true", help="one INFO line per request (diagnosis)")
    args = parser.parse_args(argv)
    # warnings and errors only: one INFO line per object read or written is ~100 kB a minute at 100 msg/s
    logging.basicConfig(
        level=logging.INFO if args.log_requests else logging.WARNING, format="%(asctime)s [%(levelname)s]: %(message)s"
    )
    data_root = args.data_root.resolve()
    data_root.mkdir(parents=True, exist_ok=True)
    BrokerBucketHandler.data_root = data_root
    server = ThreadingHTTPServer((args.host, args.port), BrokerBucketHandler)
    print(  # the one line the log gets at start (no line per request unless --log-requests)
        f"services.localbucket_server (localbucket {localbucket.__version__}) serving {data_root} "
        f"on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
