"""Run tasks on AWS Lambda: one synchronous invocation per task, from a pool of threads.

The payload is the task and a storage spec as JSON (references, never media: far under the
6 MB synchronous limit), and the reply is the task's result, the same JSON a local worker
returns. Throttling and the service's 5xx answers are retried here with backoff and jitter,
and reported as ``throttled`` progress so that they show in the events; a task that fails in
the function comes back as an error, which the coordinator retries like a local failure.
Billed durations are read from each invocation's REPORT log line (``LogType=Tail``).
"""

from __future__ import annotations

import base64
import json
import math
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from sprocket_cli.errors import SprocketError
from sprocket_cli.executors.base import Executor, drain
from sprocket_cli.plan.pricing import MAX_VCPUS, MB_PER_VCPU
from sprocket_cli.stamp import code_stamp
from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Progress, Result, Task

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_lambda import LambdaClient

#: Lambda's limit on a synchronous invocation's request payload.
PAYLOAD_LIMIT = 6 * 1024 * 1024
#: Error codes worth another try: the account or function is at its concurrency limit, or the
#: service had a moment's trouble.
RETRYABLE = frozenset(
    {"TooManyRequestsException", "ServiceException", "EC2ThrottledException", "ResourceNotReadyException"}
)
#: Backoff between tries of a throttled invocation: full jitter over an exponential ceiling.
BACKOFF_BASE, BACKOFF_CAP, MAX_TRIES = 0.25, 20.0, 10
#: Concurrency assumed when the account's limit cannot be read.
UNKNOWN_LIMIT = 1000
_REPORT = re.compile(r"Billed Duration: (\d+) ms\s+Memory Size: (\d+) MB")


class BundleMismatchError(SprocketError):
    """The deployed function runs other code than this coordinator."""

    exit_code = 2


class LambdaTaskError(RuntimeError):
    """The task raised in the function (Lambda's ``FunctionError``)."""


@dataclass(frozen=True)
class Billing:
    """One invocation's billed duration and memory, from its REPORT line."""

    billed_ms: int
    memory_mb: int


def parse_report(log_tail: str) -> Billing | None:
    """The REPORT line's billed duration and memory size, if the log tail holds one."""
    found = _REPORT.search(log_tail)
    return Billing(int(found.group(1)), int(found.group(2))) if found else None


class LambdaExecutor(Executor):
    NAME: ClassVar[str] = "lambda"

    def __init__(
        self,
        workers: int,
        function: str,
        *,
        memory_mb: int,
        arch: str,
        client: LambdaClient,
    ) -> None:
        self._client = client
        self.function = function
        self._memory_mb = memory_mb
        self._arch = arch
        super().__init__(min(workers, self.concurrency_limit()))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sprocket-lambda")
        self._reports: queue.SimpleQueue[Progress] = queue.SimpleQueue()
        self._billing = threading.Lock()
        self.billed_ms = 0
        self.throttles = 0

    def concurrency_limit(self) -> int:
        """How many invocations the account lets run at once (its unreserved concurrency)."""
        from botocore.exceptions import ClientError

        try:
            limit = self._client.get_account_settings()["AccountLimit"]
        except ClientError:
            # Not allowed to ask (a narrow IAM policy): run as asked; throttles are retried.
            return UNKNOWN_LIMIT
        return int(limit.get("UnreservedConcurrentExecutions") or limit.get("ConcurrentExecutions") or 1)

    def check_bundle(self) -> None:
        """Refuse a function deployed from other code: its workers would not run this job's tasks
        the way this coordinator plans them."""
        try:
            reply = self._invoke({"metadata": True}, lambda: None)
        except LambdaTaskError as exc:
            raise BundleMismatchError(
                f"the deployed Lambda function fails to start ({exc}): run `sprocket setup` to redeploy it"
            ) from None
        deployed, here = str(reply.get("stamp", "?")), code_stamp()
        if deployed != here:
            raise BundleMismatchError(
                f"the deployed Lambda bundle is {deployed}, this sprocket is {here}: "
                "run `sprocket setup` to deploy this version"
            )

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        return self._pool.submit(self._run, task, storage)

    def _run(self, task: Task, storage: StorageSpec) -> Result:
        def throttled() -> None:
            self._reports.put(Progress(task.task_id, task.copy, "lambda", "throttled", 0))

        reply = self._invoke({"task": json.loads(task.to_json()), "storage": asdict(storage)}, throttled)
        result = Result.from_json(json.dumps(reply["result"]))
        return replace(result, meta={**result.meta, "billed_ms": reply["billed_ms"]})

    def _invoke(self, event: dict[str, Any], throttled: Callable[[], None]) -> dict[str, Any]:
        """Invoke the function with ``event``; retry throttling; the reply with ``billed_ms``."""
        from botocore.exceptions import ClientError

        payload = json.dumps(event).encode()
        if len(payload) > PAYLOAD_LIMIT // 2:  # refs only: anything near the limit is a bug
            raise ValueError(f"a task payload of {len(payload)} bytes is too large for Lambda")
        for attempt in range(MAX_TRIES):
            try:
                response = self._client.invoke(FunctionName=self.function, Payload=payload, LogType="Tail")
                break
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                # 500 and 503: the service's own trouble. Other 5xx (502) are the function's
                # set-up failing (its network, keys or code): another try would fail the same.
                if (code not in RETRYABLE and status not in (500, 503)) or attempt == MAX_TRIES - 1:
                    raise
                with self._billing:
                    self.throttles += 1
                throttled()
                time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
        body = json.loads(response["Payload"].read() or b"null")
        tail = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
        billing = parse_report(tail)
        billed = billing.billed_ms if billing else 0
        with self._billing:
            self.billed_ms += billed
        if response.get("FunctionError"):
            message = body.get("errorMessage", "") if isinstance(body, dict) else str(body)
            kind = body.get("errorType", "Error") if isinstance(body, dict) else "Error"
            raise LambdaTaskError(f"{kind}: {message}")
        return {**body, "billed_ms": billed}

    def progress(self) -> list[Progress]:
        return drain(self._reports)

    def memory_mb(self) -> int:
        return self._memory_mb

    def arch(self) -> str:
        return self._arch

    def threads_per_task(self) -> int:
        # The vCPUs Lambda gives this memory: what x264 can use, and the same thread count as a
        # local worker with as many cores (x264's output depends on its thread count).
        return min(MAX_VCPUS, math.ceil(self._memory_mb / MB_PER_VCPU))

    def close(self) -> None:
        # Queued invocations are dropped; running ones are waited for, so that nothing runs (or
        # bills) after the command returns. A job that ends early has told them to stop
        # (CANCEL_KEY), which they see within a fraction of a second.
        self._pool.shutdown(wait=True, cancel_futures=True)


def lambda_client(session: boto3.Session, region: str, timeout: float) -> LambdaClient:
    """A Lambda client that waits as long as an invocation may run, and leaves retries to us
    (so that each throttle is seen and reported)."""
    from botocore.config import Config

    config = Config(
        read_timeout=int(timeout) + 30,
        connect_timeout=10,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=256,
    )
    return session.client("lambda", region_name=region, config=config)
