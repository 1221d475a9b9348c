"""The Lambda executor against botocore's Stubber, with the service's own answer shapes: URLs
the workers cannot reach are refused before any invocation, from where the endpoint says the
workers run (throttling: test_lambda_throttling.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from sprocket_cli.aws.reach import (
    Reach,
    Scope,
    UnreachableInputError,
    address_scope,
    endpoint_scope,
    workers_reach,
)
from sprocket_cli.executors.aws_lambda import LambdaExecutor
from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import LaneInput, Task
from tests.tasks import gray_task

STORAGE = StorageSpec("s3", "bucket/jobs/j")


def aws_client(endpoint_url: str | None = None) -> Any:
    """boto3's lambda client as the executor has it; AWS's endpoint unless one is given."""
    return boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = aws_client()
    with Stubber(client) as stub:
        limit = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}
        stub.add_response("get_account_settings", {"AccountLimit": limit, "AccountUsage": {}})
        yield client, stub


def executor(client: Any) -> LambdaExecutor:
    return LambdaExecutor(4, "sprocket-worker", memory_mb=3008, arch="arm64", client=client)


def url_task(clip: Path, url: str) -> Task:
    return replace(gray_task(clip), source=url)


@pytest.mark.parametrize(
    ("url", "host", "why"),
    [
        ("http://127.0.0.1:8080/in.mp4", "127.0.0.1", "loopback"),
        ("http://localhost/in.mp4", "localhost", "loopback"),
        ("http://[::1]:9000/in.mp4", "::1", "loopback"),
        ("http://10.1.2.3/in.mp4", "10.1.2.3", "private-network"),
        ("https://172.20.0.5/in.mp4", "172.20.0.5", "private-network"),
        ("http://192.168.1.20:8000/in.mp4", "192.168.1.20", "private-network"),
        ("http://[fd12:3456::1]/in.mp4", "fd12:3456::1", "private-network"),
        ("http://169.254.169.254/latest", "169.254.169.254", "link-local"),
        ("http://[fe80::1]/in.mp4", "fe80::1", "link-local"),
    ],
)
def test_a_url_aws_workers_cannot_reach_is_refused_before_any_invocation(
    stubbed: tuple[Any, Stubber], clip: Path, url: str, host: str, why: str
) -> None:
    client, stub = stubbed
    lam = executor(client)
    with pytest.raises(
        UnreachableInputError, match=rf"cannot reach {re.escape(host)}, a {why} address"
    ) as raised:
        lam.submit(url_task(clip, url), STORAGE)
    assert "\n" not in str(raised.value) and raised.value.exit_code == 4
    stub.assert_no_pending_responses()  # account settings read; no invoke was queued or sent
    # Refused before it was booked: every worker is still free for the job's next step.
    assert lam.can_submit() and lam._in_flight == 0
    lam.close()


def test_a_second_input_of_a_task_is_checked_too(stubbed: tuple[Any, Stubber], clip: Path) -> None:
    """blend's B input rides in ``more``: a private URL there is refused as the first is."""
    lam = executor(stubbed[0])
    task = replace(
        gray_task(clip), more=(LaneInput(gray_task(clip).chunk, "http://192.168.7.7/b.mp4", None),)
    )
    with pytest.raises(UnreachableInputError, match=r"192\.168\.7\.7, a private-network address"):
        lam.submit(task, STORAGE)
    lam.close()


def test_a_presigned_query_is_never_in_the_message(stubbed: tuple[Any, Stubber], clip: Path) -> None:
    lam = executor(stubbed[0])
    url = "http://127.0.0.1:5000/b/in.mp4?X-Amz-Signature=secret&X-Amz-Security-Token=tok"
    with pytest.raises(UnreachableInputError) as raised:
        lam.submit(url_task(clip, url), STORAGE)
    assert "X-Amz-" not in str(raised.value) and "127.0.0.1:5000/b/in.mp4" in str(raised.value)
    lam.close()


def test_workers_on_this_machine_reach_its_loopback() -> None:
    # A stand-in of the Invoke API on 127.0.0.1 runs the workers here: loopback is theirs too.
    assert endpoint_scope("http://127.0.0.1:4566") == Scope.LOOPBACK
    Reach(endpoint_scope("http://127.0.0.1:4566")).check("http://127.0.0.1:8080/in.mp4")
    # One on the LAN reaches the LAN, not this machine.
    lan = workers_reach("http://192.168.1.5:4566")
    lan.check("http://192.168.1.20/in.mp4")
    with pytest.raises(
        UnreachableInputError, match=r"cannot reach 127\.0\.0\.1, .* from 192\.168\.1\.5's network"
    ):
        lan.check("http://127.0.0.1/in.mp4")
    # AWS's own endpoint: its network, without a DNS lookup.
    assert endpoint_scope("https://lambda.eu-west-1.amazonaws.com") == Scope.PUBLIC
    assert endpoint_scope(None) == Scope.PUBLIC


def test_public_addresses_paths_and_s3_urls_pass() -> None:
    aws = Reach(Scope.PUBLIC)
    for ok in ("http://93.184.216.34/in.mp4", "/home/me/in.mp4", "s3://bucket/key.mp4"):
        aws.check(ok)
    assert address_scope("::ffff:127.0.0.1") == Scope.LOOPBACK  # an IPv4-mapped loopback
    assert address_scope("100.64.1.1") == Scope.PRIVATE  # carrier-grade NAT
    assert address_scope("example.com") is None  # a name: resolved by host_scope
