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
