"""Lambda throttling against botocore's Stubber, with the service's own 429 shape: it is backed
off however many tries it takes, never reaches the coordinator as a task failure, is kept apart
from a copy's running time, and fails the job in one unretried line only past its budget."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from sprocket_cli.executors.aws_lambda import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_TRIES,
    THROTTLE_BUDGET_S,
    LambdaExecutor,
    LambdaTaskError,
    LambdaThrottledError,
)
from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Result, Task, Timings
from tests.tasks import gray_task

STORAGE = StorageSpec("s3", "bucket/jobs/j")
FUNCTION = "sprocket-worker"


class VirtualClock:
    """Time that moves only when the executor sleeps: back-off is then all the time there is."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.t += seconds


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    """boto3's lambda client as the executor has it (AWS's endpoint, no retries of its own)."""
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    with Stubber(client) as stub:
        limit = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}
        stub.add_response("get_account_settings", {"AccountLimit": limit, "AccountUsage": {}})
        yield client, stub


def executor(client: Any, clock: VirtualClock | None = None, **kw: Any) -> LambdaExecutor:
    clock = clock or VirtualClock()
    kw.setdefault("sleep", clock.sleep)
    return LambdaExecutor(
        4, FUNCTION, memory_mb=3008, arch="arm64", client=client, rng=lambda: 1.0, clock=clock, **kw
    )


def result_of(task: Task) -> Result:
    return Result(
        task.task_id, task.chunk.index, task.group, task.output_key, "chunks", 50, Timings(0.0), "lambda"
    )


def throttle(stub: Stubber, times: int = 1, reason: str = "ConcurrentInvocationLimitExceeded") -> None:
    """Lambda's 429 as botocore parses it (RestJson: the body's Type/message, the Reason)."""
    for _ in range(times):
        stub.add_client_error(
            "invoke",
            service_error_code="TooManyRequestsException",
            service_message="Rate Exceeded.",
            http_status_code=429,
            modeled_fields={"Type": "User", "message": "Rate Exceeded.", "Reason": reason},
            expected_params={"FunctionName": FUNCTION, "Payload": ANY, "LogType": "Tail"},
        )


def answer(result: Result) -> dict[str, Any]:
    """A successful synchronous Invoke: the handler's reply and the REPORT line's log tail."""
    body = json.dumps({"result": result.to_dict()}).encode()
    report = "REPORT RequestId: 1\tDuration: 812.40 ms\tBilled Duration: 813 ms\tMemory Size: 3008 MB\t"
    return {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
        "LogResult": base64.b64encode(report.encode()).decode(),
        "ExecutedVersion": "$LATEST",
    }


def test_throttling_back_off_does_not_count_as_running_time(stubbed: tuple[Any, Stubber], clip: Path) -> None:
    client, stub = stubbed
    clock = VirtualClock()
    lam = executor(client, clock)
    task = gray_task(clip)
    throttle(stub, 2)
    stub.add_response("invoke", answer(result_of(task)))
    future = lam.submit(task, STORAGE)
    done = future.result(timeout=30)
    # Two pauses of full jitter (rng 1.0: the ceiling), 0.25 s then 0.5 s, on the virtual clock.
    assert clock.pauses == [BACKOFF_BASE, 2 * BACKOFF_BASE]
    assert lam.throttles == 2 and done.meta["billed_ms"] == 813
    assert done.meta["backoff_s"] == pytest.approx(0.75)
    # From submit to reply 0.75 s passed, all of it back-off: none of it is the task's time.
    assert clock.t - 1000.0 == pytest.approx(0.75)
    assert lam.running_seconds(future) == pytest.approx(0.0)
    stub.assert_no_pending_responses()
    lam.close()


def test_a_copy_backing_off_now_is_not_running(stubbed: tuple[Any, Stubber], clip: Path) -> None:
    """Mid-pause, the pause so far is not running time either (what a time limit reads)."""
    client, stub = stubbed
    clock = VirtualClock()
    pausing, resume = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        clock.t += seconds / 2  # half the pause has passed
        pausing.set()
        resume.wait(30)
        clock.t += seconds / 2

    lam = executor(client, clock, sleep=sleep)
    task = gray_task(clip)
    throttle(stub)
    stub.add_response("invoke", answer(result_of(task)))
    future = lam.submit(task, STORAGE)
    assert pausing.wait(30)
    clock.t += 2.0  # the coordinator's clock moves on while the copy waits
    mid_pause = lam.running_seconds(future)
    resume.set()
    future.result(timeout=30)
    # 0.125 s of pause had passed, then 2 s more: all of it is waiting, none running.
    assert mid_pause == pytest.approx(0.0)
    lam.close()


def test_more_throttles_than_tries_are_still_not_a_failure(stubbed: tuple[Any, Stubber], clip: Path) -> None:
    """A busy account throttles for longer than the service's faults are tried (MAX_TRIES):
    the copy waits it out and delivers, so the coordinator sees no failure and spends no retry."""
    client, stub = stubbed
    clock = VirtualClock()
    lam = executor(client, clock)
    task = gray_task(clip)
    throttle(stub, 3 * MAX_TRIES)
    stub.add_response("invoke", answer(result_of(task)))
    done = lam.submit(task, STORAGE).result(timeout=30)
    assert done.task_id == task.task_id and lam.throttles == 3 * MAX_TRIES
    assert max(clock.pauses) == BACKOFF_CAP  # the ceiling stops growing at the cap
    reports = lam.progress()
    assert [p.phase for p in reports] == ["throttled"] * (3 * MAX_TRIES)  # each shows in the events
    stub.assert_no_pending_responses()
    lam.close()


def test_service_faults_are_still_tried_a_bounded_number_of_times(
    stubbed: tuple[Any, Stubber], clip: Path
) -> None:
    client, stub = stubbed
    lam = executor(client)
    for _ in range(MAX_TRIES):
        stub.add_client_error("invoke", "ServiceException", "Internal error.", http_status_code=500)
    with pytest.raises(ClientError, match="ServiceException"):
        lam.submit(gray_task(clip), STORAGE).result(timeout=30)
    stub.assert_no_pending_responses()  # exactly MAX_TRIES invocations, then the coordinator's turn
    assert lam.throttles == 0
    lam.close()


def test_throttling_past_its_budget_fails_the_job_in_one_unretried_line(
    stubbed: tuple[Any, Stubber], clip: Path
) -> None:
    """Reserved concurrency 0 throttles every invocation forever: the job must not hang."""
    client, stub = stubbed
    clock = VirtualClock()
    lam = executor(client, clock)
    throttle(stub, 200, reason="ReservedFunctionConcurrentInvocationLimitExceeded")
    with pytest.raises(LambdaThrottledError) as raised:
        lam.submit(gray_task(clip), STORAGE).result(timeout=30)
    error = raised.value
    waited = clock.t - 1000.0
    assert THROTTLE_BUDGET_S <= waited < THROTTLE_BUDGET_S + BACKOFF_CAP
    assert "\n" not in str(error) and "ReservedFunctionConcurrentInvocationLimitExceeded" in str(error)
    assert str(error).startswith(f"Lambda throttled every invocation of {FUNCTION} for 900 s")
    assert error.retry is False and error.exit_code == 8  # the dispatcher does not retry it
    assert lam.throttles == len(clock.pauses)  # one pause per throttle, none after the last
    lam.close()


def test_closing_ends_a_back_off_at_once_and_invokes_nothing_more(
    stubbed: tuple[Any, Stubber], clip: Path
) -> None:
    """A job that ends (done, failed, Ctrl-C) is not held up by a copy waiting out throttling,
    and that copy sends no invocation after the executor closed."""
    client, stub = stubbed
    invoked = threading.Event()
    client.meta.events.register("before-parameter-build.lambda.Invoke", lambda **_: invoked.set())
    # rng 1.0 and the default pause (which close() interrupts): the first back-off is 0.25 s,
    # so a fixed factor makes it the cap, long enough to see whether close() waits it out.
    lam = LambdaExecutor(
        4, FUNCTION, memory_mb=3008, arch="arm64", client=client, rng=lambda: BACKOFF_CAP / BACKOFF_BASE
    )
    throttle(stub)
    stub.add_response("invoke", answer(result_of(gray_task(clip))))  # never asked for
    future = lam.submit(gray_task(clip), STORAGE)
    assert invoked.wait(30)
    began = time.monotonic()
    lam.close()
    assert time.monotonic() - began < BACKOFF_CAP / 2
    with pytest.raises(LambdaTaskError, match="the job ended while this invocation waited"):
        future.result(timeout=0)
    assert len(stub._queue) == 1  # the answer after the throttle was never asked for
