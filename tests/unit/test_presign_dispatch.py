"""An ``s3://`` input reaches a worker as a URL signed when its task is dispatched, valid about
as long as the task may run: every executor signs through the base class's submit, Lambda at
each try of its invocation (after any throttling back-off). Signing uses the real boto3 signer
(credentials with a session token from the moto stand-in's environment); only the signing
clock is moved, to stand for a task dispatched hours into a job."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from sprocket_cli.aws.deploy import TIMEOUT_S
from sprocket_cli.executors.base import SIGNED_MARGIN_S, UNLIMITED_TASK_S, Executor
from sprocket_cli.inputs import InputSigner
from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import LaneInput, Result, Task, Timings
from tests.conftest import AwsStandIn
from tests.tasks import gray_task

STORAGE = StorageSpec("local", "/nowhere")
SOURCE = "s3://footage/in/clip.mp4"
SECOND = "s3://footage/in/other.mp4"


class SigningClock:
    """The time botocore's SigV4 signer reads; moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 3, 1, 12, 0, 0)

    def __call__(self, remove_tzinfo: bool = True) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def signing_clock(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[SigningClock]:
    import botocore.auth

    clock = SigningClock()
    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    yield clock


class Recording(Executor):
    """An executor whose workers only note the task they were handed (what would go over the
    wire to a process, a Ray node or a Lambda function)."""

    NAME: ClassVar[str] = "recording"

    def __init__(self) -> None:
        super().__init__(1)
        self.handed: list[Task] = []

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        self.handed.append(task)
        future: Future[Result] = Future()
        future.set_result(
            Result(task.task_id, 0, task.group, task.output_key, "chunks", 1, Timings(0.0), "x")
        )
        return future


def query(url: str | None) -> dict[str, str]:
    assert url is not None
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def signed_at(url: str | None) -> datetime.datetime:
    return datetime.datetime.strptime(query(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ")


def s3_task(clip: Path) -> Task:
    return replace(gray_task(clip), source=SOURCE, more=(LaneInput(gray_task(clip).chunk, SECOND),))


def test_each_task_is_signed_as_it_is_dispatched(
    signing_clock: SigningClock, clip: Path, aws: AwsStandIn
) -> None:
    executor = Recording()
    executor.sign_inputs(InputSigner(), task_limit=120)
    first = s3_task(clip)
    executor.submit(first, STORAGE)
    start = signing_clock.now
    signing_clock.advance(3 * 3600)  # a task dispatched three hours into the job (or a resume)
    later = replace(first, task_id="gray/c00001")
    executor.submit(later, STORAGE)

    assert first.source == SOURCE and later.source == SOURCE  # the coordinator's tasks keep the name
    one, two = executor.handed
    assert signed_at(one.source) == start
    assert signed_at(two.source) == start + datetime.timedelta(hours=3)
    assert one.source != two.source
    for task in (one, two):
        for url, key in ((task.source, "in/clip.mp4"), (task.more[0].source, "in/other.mp4")):
            assert url is not None and url.startswith(f"{aws.endpoint}/footage/{key}?")
            got = query(url)
            # The task's limit and a margin: minutes, not the six hours a URL used to live.
            assert int(got["X-Amz-Expires"]) == 120 + SIGNED_MARGIN_S
            assert got["X-Amz-Security-Token"] == "testing"  # temporary credentials sign too
    assert signed_at(two.more[0].source) == signed_at(two.source)


def test_without_a_time_limit_a_url_lives_minutes_not_hours(signing_clock: SigningClock, clip: Path) -> None:
    executor = Recording()
    executor.sign_inputs(InputSigner())
    executor.submit(s3_task(clip), STORAGE)
    expires = int(query(executor.handed[0].source)["X-Amz-Expires"])
    assert expires == UNLIMITED_TASK_S + SIGNED_MARGIN_S <= 3600


def test_a_task_without_s3_inputs_goes_as_it_is(clip: Path) -> None:
    executor = Recording()  # no signer: none needed
    task = gray_task(clip)
    executor.submit(task, STORAGE)
    assert executor.handed == [task]


def test_an_s3_input_without_a_signer_is_refused_naming_the_task(clip: Path) -> None:
    executor = Recording()
    with pytest.raises(ValueError, match="gray/c00000 reads an s3:// input"):
        executor.submit(s3_task(clip), STORAGE)
    assert executor.handed == [] and executor.can_submit()


def test_lambda_signs_each_try_after_its_back_off(signing_clock: SigningClock, clip: Path) -> None:
    import boto3
    from botocore.stub import Stubber

    from sprocket_cli.executors.aws_lambda import LambdaExecutor
    from tests.unit.test_lambda_throttling import VirtualClock, answer, result_of, throttle

    client = boto3.client("lambda", region_name="us-east-1")
    payloads: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        payloads.append(json.loads(params["Payload"]))

    client.meta.events.register("provide-client-params.lambda.Invoke", keep)
    clock = VirtualClock()

    def back_off(seconds: float) -> None:  # the account is busy: time passes for the signer too
        clock.sleep(seconds)
        signing_clock.advance(seconds)

    task = gray_task(clip)
    with Stubber(client) as stub:
        limit = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}
        stub.add_response("get_account_settings", {"AccountLimit": limit, "AccountUsage": {}})
        executor = LambdaExecutor(
            4, "sprocket-worker", memory_mb=3008, arch="arm64", client=client,
            rng=lambda: 1.0, clock=clock, sleep=back_off,
        )  # fmt: skip
        executor.sign_inputs(InputSigner(), task_limit=3600)
        throttle(stub, 8)  # back-off of 0.25 + 0.5 + ... + 16 + 20 s
        stub.add_response("invoke", answer(result_of(task)))
        start = signing_clock.now
        executor.submit(replace(task, source=SOURCE), STORAGE).result(timeout=30)
        executor.close()
        stub.assert_no_pending_responses()

    assert len(payloads) == 9
    first, last = (p["task"]["source"] for p in (payloads[0], payloads[-1]))
    assert signed_at(first) == start
    assert signed_at(last) == start + datetime.timedelta(seconds=int(sum(clock.pauses)))
    # Lambda ends an invocation at the function's timeout, whatever the job's limit.
    assert int(query(last)["X-Amz-Expires"]) == TIMEOUT_S + SIGNED_MARGIN_S
