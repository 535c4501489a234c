"""The broker's object store lists a prefix's folder only, and lists exactly what localbucket lists."""

from __future__ import annotations

import random

import localbucket
import pytest

from services.localbucket_server import BrokerBucketHandler


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    root = tmp_path_factory.mktemp("bucket")
    rng = random.Random(5)
    for topic in ("feedback.crm", "feedback.app", "feedback.alerts"):
        for partition in range(3):
            for offset in rng.sample(range(10_000), 40):
                path = root / "clusters" / "c" / "topics" / topic / "partitions" / str(partition) / "records"
                path.mkdir(parents=True, exist_ok=True)
                (path / f"{offset:020d}.batch").write_bytes(b"x")
            (root / "clusters" / "c" / "topics" / topic / "partitions" / str(partition) / "watermark.json").write_text(
                "{}"
            )
    (root / "clusters" / "c" / "meta.json").write_text("{}")
    (
        root / "clusters" / "c" / "topics" / "feedback.crm" / "partitions" / "0" / "records" / ".localbucket-tmp"
    ).write_text("")
    return root


@pytest.mark.parametrize(
    ("prefix", "delimiter", "marker", "max_keys"),
    [
        ("clusters/c/topics/feedback.crm/partitions/0/records/", "", "", 1000),
        (
            "clusters/c/topics/feedback.crm/partitions/0/records/",
            "",
            "clusters/c/topics/feedback.crm/partitions/0/records/00000000000000005000.batch",
            1000,
        ),
        ("clusters/c/topics/feedback.crm/partitions/1/records/0000000000000000", "", "", 7),
        ("clusters/c/topics/feedback.a", "", "", 1000),  # a prefix inside a folder name
        ("clusters/c/topics/", "/", "", 1000),
        ("clusters/", "", "", 50),
        ("", "/", "", 1000),
        ("", "", "", 1000),
        ("clusters/c/nothing/here/", "", "", 1000),
    ],
)
def test_listing_a_prefix_is_localbuckets_own(bucket, prefix, delimiter, marker, max_keys) -> None:
    ours = BrokerBucketHandler._list_entries(None, bucket, prefix, delimiter, marker, False, max_keys)  # type: ignore[arg-type]
    theirs = localbucket.S3Handler._list_entries(None, bucket, prefix, delimiter, marker, False, max_keys)  # type: ignore[arg-type]
    assert ours == theirs
    assert ours[0] or ours[1] or prefix.startswith("clusters/c/nothing")


class _Capture(BrokerBucketHandler):
    """The handler without a socket: what it would send."""

    def __init__(self, root, query: dict[str, str]) -> None:
        self.data_root, self.query, self.sent = root, query, b""

    def _send(self, status, body=b"", headers=None, include_body=True) -> None:  # type: ignore[override]
        self.sent = body


def _theirs(bucket_dir, query: dict[str, str]) -> bytes:
    handler = _Capture(bucket_dir.parent, query)
    localbucket.S3Handler._list_objects_v2(handler, bucket_dir.name)
    return handler.sent


def _ours(bucket_dir, query: dict[str, str]) -> bytes:
    handler = _Capture(bucket_dir.parent, query)
    handler._list_objects_v2(bucket_dir.name)
    return handler.sent


RECORDS = "clusters/c/topics/feedback.crm/partitions/0/records/"


@pytest.mark.parametrize(
    "query",
    [
        {"prefix": RECORDS},
        {"prefix": RECORDS, "max-keys": "7"},
        {"prefix": RECORDS, "start-after": RECORDS + "00000000000000005000.batch"},
        {"prefix": RECORDS, "start-after": "clusters/c/topics/feedback.crm/partitions/0/"},
        {"prefix": RECORDS, "start-after": "zzz"},
        {"prefix": RECORDS, "max-keys": "0"},
        {"prefix": "clusters/c/topics/feedback.crm/partitions/0/"},  # holds a folder: localbucket answers
        {"prefix": "clusters/c/nothing/here/"},
        {"prefix": RECORDS, "delimiter": "/"},
        {"prefix": RECORDS, "encoding-type": "url"},
    ],
)
def test_a_folder_listing_from_the_cache_is_localbuckets_own_answer(bucket, query) -> None:
    assert _ours(bucket, query) == _theirs(bucket, query)


def test_paging_through_a_folder_with_continuation_tokens_is_localbuckets_own(bucket) -> None:
    root = bucket
    query = {"prefix": RECORDS, "max-keys": "15"}
    pages = 0
    while True:
        ours, theirs = _ours(root, query), _theirs(root, query)
        assert ours == theirs
        pages += 1
        if b"<NextContinuationToken>" not in ours:
            break
        token = ours.split(b"<NextContinuationToken>")[1].split(b"<")[0].decode()
        query = {**query, "continuation-token": token}
    assert pages == 3  # 40 objects, 15 a page
    assert any(folder.name == "records" for folder in BrokerBucketHandler.folders)  # served from the cache


def test_a_changed_folder_is_listed_as_it_is_now(tmp_path) -> None:
    tmp_path = tmp_path / "bkt"
    folder = tmp_path / "t" / "records"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"{i:05d}.batch").write_bytes(b"x" * i)
    query = {"prefix": "t/records/"}
    assert _ours(tmp_path, query) == _theirs(tmp_path, query)
    (folder / "00001.batch").unlink()  # deleted behind the server's back (the broker's retention)
    (folder / "00000.batch").unlink()
    (folder / "00000.batch").write_bytes(b"new content")  # rewritten: a new file
    (folder / "00007.batch").write_bytes(b"added")
    ours = _ours(tmp_path, query)
    assert ours == _theirs(tmp_path, query)
    assert b"00001.batch" not in ours and b"00007.batch" in ours
