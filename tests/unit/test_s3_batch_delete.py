"""A job's ``work/`` goes from S3 in DeleteObjects requests of up to 1,000 keys, not one
DeleteObject per key: counted on the client's own request events, against moto's server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from sprocket_cli.storage.s3 import DELETE_BATCH, S3Storage, s3_client
from tests.conftest import AwsStandIn

BUCKET = "sprocket-delete-tests"


def test_work_is_deleted_in_batches_of_a_thousand(aws: AwsStandIn) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    client = s3_client()
    store = S3Storage(BUCKET, "jobs/j1", client=client)
    work = [f"work/n{n:05d}.mkv" for n in range(1500)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.put_bytes(key, b""), [*work, "stream/seg_00000.m4s"]))
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.s3", count)
    assert store.delete_all("work/") == 1500
    assert calls.count("DeleteObjects") == 2 == -(-1500 // DELETE_BATCH)
    assert calls.count("DeleteObject") == 0
    assert store.list() == ["stream/seg_00000.m4s"]  # nothing outside the prefix
