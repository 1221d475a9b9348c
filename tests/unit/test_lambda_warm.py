"""What keeps an invocation's fixed cost low, as behaviour: the handler imports the task path
only for a task (boto3 only for S3 storage), and the warm stand-in keeps one process per
concurrent invocation, as Lambda keeps an execution environment (tests/lambda_warm.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sprocket_cli.executors.aws_lambda import DEFAULT_CONNECTIONS, lambda_client
from sprocket_cli.storage.local import LocalStorage
from tests.lambda_endpoint import LocalLambda
from tests.lambda_warm import WarmLambda
from tests.tasks import gray_task
from tests.unit.test_lambda_bundle import invoke, task_event
from tests.unit.test_lambda_bundle import lambda_client as endpoint_client

pytestmark = pytest.mark.timeout(900)  # the first build downloads wheels

#: What only a task needs (the worker, its stages' pydantic models, ffmpeg-python), and what
#: only S3 storage needs.
TASK_PATH = {"sprocket_cli.worker", "sprocket_cli.tasks", "pydantic", "ffmpeg"}
AWS = {"boto3", "botocore", "s3transfer"}

# Run in the bundle's folder by an isolated interpreter, as Lambda would: the modules loaded
# after the import, after a metadata call, and after a task on local storage.
PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
seen = lambda: sorted(m for m in sys.modules if m in TASK or m.split(".")[0] in TASK | AWS)
TASK, AWS = set(json.loads(sys.argv[2])), set(json.loads(sys.argv[3]))
import lambda_bundle.handler as h
loaded = {"import": seen()}
assert h.handler({"metadata": True}, None)["stamp"]
loaded["metadata"] = seen()
loaded["reply"] = h.handler(json.loads(sys.argv[4]), None)
loaded["task"] = seen()
print(json.dumps(loaded))
"""


def test_the_handler_imports_the_task_path_only_for_a_task(
    bundle_root: Path, clip: Path, tmp_path: Path
) -> None:
    event = task_event(gray_task(clip, 0), LocalStorage(tmp_path / "store"))
    args = [str(bundle_root), json.dumps(sorted(TASK_PATH)), json.dumps(sorted(AWS)), json.dumps(event)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", PROBE, *args],
        capture_output=True, text=True, env=env, cwd=bundle_root, check=True,
    )  # fmt: skip
    loaded = json.loads(out.stdout.splitlines()[-1])
    assert loaded["import"] == loaded["metadata"] == []
    assert loaded["reply"]["result"]["output_key"] == "stream/seg_00000.m4s"
    assert set(loaded["task"]) >= TASK_PATH  # the task loaded them (so the probe sees imports)
    assert not [m for m in loaded["task"] if m.split(".")[0] in AWS]  # and nothing of boto3's


@pytest.fixture
def warm(bundle_root: Path) -> Iterator[WarmLambda]:
    with WarmLambda(bundle_root) as endpoint:
        yield endpoint


def test_a_warm_process_serves_invocations_in_turn(warm: WarmLambda, clip: Path, tmp_path: Path) -> None:
    client, store = endpoint_client(warm), LocalStorage(tmp_path / "store")
    responses = [invoke(client, {"metadata": True})[1]]
    for index in (0, 1):
        reply, response = invoke(client, task_event(gray_task(clip, index), store))
        assert "FunctionError" not in response, reply
        assert store.exists(reply["result"]["output_key"])
        responses.append(response)
    runs = warm.runs
    assert len({r.pid for r in runs}) == 1 and runs[0].pid > 0 and warm.started == 1
    # Only the first invocation was a cold start: init once, as Lambda's REPORT lines tell.
    reports = [base64.b64decode(r["LogResult"]).decode().splitlines()[-1] for r in responses]
    assert ["Init Duration" in line for line in reports] == [True, False, False]
    assert runs[0].init_ms > 0 and runs[1].init_ms == runs[2].init_ms == 0
    # Each invocation's log holds its own lines only.
    assert all(base64.b64decode(r["LogResult"]).decode().count("START RequestId") == 1 for r in responses)


def test_the_cold_endpoint_starts_a_process_per_invocation(local_lambda: LocalLambda) -> None:
    client = endpoint_client(local_lambda)
    for _ in range(2):
        invoke(client, {"metadata": True})
    first, second = local_lambda.runs
    assert first.pid != second.pid and first.init_ms > 0 and second.init_ms > 0


def test_a_warm_process_that_times_out_is_replaced(bundle_root: Path) -> None:
    """No process imports the handler and answers within a millisecond: each invocation times
    out, its process is killed, and the next invocation starts a new one."""
    with WarmLambda(bundle_root, timeout=0.001) as endpoint:
        client = endpoint_client(endpoint)
        replies = [invoke(client, {"metadata": True}) for _ in range(2)]
        started = endpoint.started
    assert [(r["errorType"], resp["FunctionError"]) for r, resp in replies] == [
        ("Sandbox.Timedout", "Unhandled")
    ] * 2
    assert started == 2


def test_the_lambda_client_keeps_a_connection_per_worker() -> None:
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b")

    def pool(workers: int) -> Any:
        return lambda_client(session, "us-east-1", 900, workers).meta.config.max_pool_connections  # type: ignore[attr-defined]

    assert (pool(1000), pool(4)) == (1000, DEFAULT_CONNECTIONS)
