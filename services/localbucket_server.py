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

- Tansu lists every stored batch of a partition (ListObjectsV2 of its ``records/`` folder, no start-after) on
  each fetch; localbucket builds each entry with two ``stat`` calls and an ElementTree node, 28.7 ms a page of
  1,000 (``bench/broker.py --parts store``), which saturated a core at 1,000 msg/s. Here a folder of plain files is listed from a cache of each
  object's rendered ``<Contents>`` entry, kept per name while its inode, size and modification time stay
  (what localbucket's own ETag cache checks), so a listing costs a ``scandir``, a ``stat`` per object and a
  join, 6.8 ms a page of 1,000 over HTTP; the later pages of one listing are cut from its first page's scan (a listing
  of 10,000 batches was ten scans of the whole folder); the bytes are localbucket's own.

What stays: a fetch still costs time in proportion to the batches the partition holds, and a reader whose
``fetch.max.wait.ms`` is shorter than that listing gets nothing, ever (:data:`flink.jobconfig` keeps the
alert job's wait above it on this storage); retention (:func:`services.broker.prune_records`) bounds it.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import logging
import os
import sys
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import localbucket

# name -> ((inode, size, mtime), its rendered <Contents> element)
_Entries = dict[str, tuple[tuple[int, int, int], str]]
SCAN_REUSE_S = 5.0


class BrokerBucketHandler(localbucket.S3Handler):
    disable_nagle_algorithm = True
    folders: dict[Path, _Entries] = {}  # noqa: RUF012 (shared by the server's threads on purpose)
    # the last scan of each folder (when, its sorted names, its entries): the later pages of one listing
    # (a continuation token) are cut from it instead of scanning the folder once per page of 1,000
    scans: dict[Path, tuple[float, list[str], _Entries]] = {}  # noqa: RUF012

    def _list_objects_v2(self, bucket: str) -> None:
        prefix, start_after = self.query.get("prefix", ""), self.query.get("start-after", "")
        token = self.query.get("continuation-token")
        plain = not self.query.get("delimiter") and self.query.get("encoding-type") != "url"
        marker = start_after
        if token is not None:  # one of ours ("K:" and a key), else localbucket checks and answers it
            try:
                decoded = base64.urlsafe_b64decode(token.encode()).decode(errors="replace")
            except ValueError:
                decoded = ""
            plain, marker = plain and decoded.startswith("K:"), decoded[2:]
        listed = (
            self._folder_listing(self._bucket_dir(bucket), prefix, later_page=token is not None)
            if plain and prefix.endswith("/")
            else None
        )
        if listed is None:
            super()._list_objects_v2(bucket)
            return
        names, entries = listed
        max_keys = self._max_keys()
        first = bisect.bisect_right(names, marker[len(prefix) :]) if marker.startswith(prefix) else 0
        if marker and not marker.startswith(prefix):
            first = 0 if marker < prefix else len(names)
        page = names[first : first + max_keys] if max_keys else []
        truncated = max_keys > 0 and first + max_keys < len(names)
        parts = [
            f"<?xml version='1.0' encoding='UTF-8'?>\n<ListBucketResult xmlns=\"{localbucket.S3_NAMESPACE}\">",
            f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><MaxKeys>{max_keys}</MaxKeys>",
            f"<KeyCount>{len(page)}</KeyCount><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        ]
        if token is not None:
            parts.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
        if truncated:
            next_token = base64.urlsafe_b64encode(("K:" + prefix + page[-1]).encode()).decode()
            parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
        if start_after:
            parts.append(f"<StartAfter>{escape(start_after)}</StartAfter>")
        parts += [entries[name][1] for name in page]
        parts.append("</ListBucketResult>")
        self._send(HTTPStatus.OK, "".join(parts).encode(), {"Content-Type": "application/xml"})

    def _folder_listing(
        self, bucket_dir: Path, prefix: str, later_page: bool = False
    ) -> tuple[list[str], _Entries] | None:
        """The sorted names and rendered entries of the folder ``prefix`` names, or None when it is not a
        folder of plain ASCII-named files (localbucket's general listing then answers). A later page of a
        listing is cut from the scan its first page made, when that is at most ``SCAN_REUSE_S`` old."""
        folder = bucket_dir.joinpath(*prefix.rstrip("/").split("/"))
        snapshot = self.scans.get(folder)
        if later_page and snapshot is not None and time.monotonic() - snapshot[0] <= SCAN_REUSE_S:
            return snapshot[1], snapshot[2]
        scanned_at = time.monotonic()
        known = self.folders.get(folder, {})
        current: _Entries = {}
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    if entry.name.startswith(localbucket.TEMP_PREFIX):
                        continue
                    if not entry.is_file(follow_symlinks=False) or not entry.name.isascii():
                        return None
                    stat = entry.stat(follow_symlinks=False)
                    signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                    cached = known.get(entry.name)
                    if cached is None or cached[0] != signature:
                        cached = (signature, self._render(prefix + entry.name, Path(entry.path), stat))
                    current[entry.name] = cached
        except (FileNotFoundError, NotADirectoryError):
            return [], {}
        except OSError:
            return None
        self.folders[folder] = current
        names = sorted(current)
        self.scans[folder] = (scanned_at, names, current)
        return names, current

    @staticmethod
    def _render(key: str, path: Path, stat: os.stat_result) -> str:
        return (
            f"<Contents><Key>{escape(key)}</Key><LastModified>{localbucket.iso_timestamp(stat.st_mtime)}"
            f'</LastModified><ETag>"{localbucket.object_etag(path)}"</ETag><Size>{stat.st_size}</Size>'
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )

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
