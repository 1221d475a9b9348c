"""The Lambda handler reuses one S3 client per container: invocations after the first skip a
new session, its credential lookup and its connections. The handler runs here in-process (a
warm container runs every invocation in one process; the local Invoke endpoint starts a fresh
interpreter per invocation, so it cannot show reuse), against moto's server; clients are
counted where botocore makes every one of them."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from lambda_bundle.handler import handler
from sprocket_cli.storage import s3
from tests.conftest import AwsStandIn
from tests.tasks import gray_task

BUCKET = "sprocket-handler-tests"


@pytest.fixture
def made(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services of the clients botocore makes from now on, in a process with none cached."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setattr(s3, "_CLIENTS", {})
    services: list[str] = []
    create = botocore.session.Session.create_client

    def counted(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        services.append(service_name)
        return create(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counted)
    return services


def test_two_invocations_in_one_container_build_one_s3_client(made: list[str], clip: Path) -> None:
    storage = {"kind": "s3", "location": f"{BUCKET}/jobs/j1"}
    for index in (0, 1):
        task = gray_task(clip, index, job_id="j1")
        reply = handler({"task": json.loads(task.to_json()), "storage": storage}, None)
        assert reply["result"]["output_key"] == task.output_key
    assert made.count("s3") == 1
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert {"jobs/j1/stream/seg_00000.m4s", "jobs/j1/stream/seg_00001.m4s"} <= set(keys)


def test_threads_asking_at_once_share_one_client_per_region_and_endpoint(
    made: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = threading.Barrier(8)

    def ask(_: int) -> Any:
        ready.wait()  # all at once: the first lookup is the race
        return s3._shared_client()

    with ThreadPoolExecutor(8) as pool:
        clients = set(map(id, pool.map(ask, range(8))))
    assert len(clients) == 1 and made.count("s3") == 1
    first = s3._shared_client()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # another region: a client of its own
    other = s3._shared_client()
    assert other is not first and other.meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert s3._shared_client() is first and made.count("s3") == 2
