"""Run tasks on AWS Lambda: one synchronous invocation per task, from a pool of threads.

The payload is the task and a storage spec as JSON (references, never media: far under the
6 MB synchronous limit), and the reply is the task's result, the same JSON a local worker
returns. Throttling and the service's 5xx answers are retried here with backoff and jitter,
and reported as ``throttled`` progress so that they show in the events; a task that fails in
the function comes back as an error, which the coordinator retries like a local failure, unless
the worker reported it as one that would repeat (no frames, a filter's or the encoder's error:
:func:`repeating_error`), which fails the job once, in the line a local run gives.
Billed durations are read from each invocation's REPORT log line (``LogType=Tail``).

Throttling is the account being busy, not the task failing: it is retried for as long as
:data:`THROTTLE_BUDGET_S` of back-off, however many tries that takes, and never reaches the
coordinator as a failure (which would spend one of the task's retries and send yet another
invocation to a busy account). Only throttling that outlasts the budget fails the job, in one
line, unretried. Back-off is the account's queue, not the task's work: each copy keeps it
apart (:meth:`LambdaExecutor.running_seconds`), so that a time limit on a task can measure the
work alone. URLs the workers would read are checked against where they run
(:mod:`sprocket_cli.aws.reach`) before the first invocation. A task's ``s3://`` inputs are
presigned at each try of its invocation, not when it is submitted: a copy may back off for up
to :data:`THROTTLE_BUDGET_S` first, and its URLs live only as long as the function may run.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import queue
import random
import re
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from sprocket_cli.aws.deploy import TIMEOUT_S
from sprocket_cli.aws.reach import workers_reach
from sprocket_cli.errors import RepeatingTaskError, SprocketError
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
#: The account or function is at its concurrency or rate limit (429): retried on the
#: throttling budget, not counted as tries.
THROTTLED = frozenset({"TooManyRequestsException"})
#: The service had a moment's trouble: worth another try, up to :data:`MAX_TRIES`.
RETRYABLE = frozenset({"ServiceException", "EC2ThrottledException", "ResourceNotReadyException"})
#: Backoff between tries of a throttled invocation: full jitter over an exponential ceiling.
BACKOFF_BASE, BACKOFF_CAP, MAX_TRIES = 0.25, 20.0, 10
#: Seconds of throttling back-off one invocation may wait through before the job fails. Every
#: invocation holding the account's concurrency ends within Lambda's longest timeout (900 s),
#: so throttling that outlasts it is not other work finishing (a function whose reserved
#: concurrency is 0, say): waiting longer would only hang the job.
THROTTLE_BUDGET_S = 900.0
#: Concurrency assumed when the account's limit cannot be read.
UNKNOWN_LIMIT = 1000
#: Kept-alive connections of a Lambda client at least (:func:`lambda_client`).
DEFAULT_CONNECTIONS = 256
_REPORT = re.compile(r"Billed Duration: (\d+) ms\s+Memory Size: (\d+) MB")


class BundleMismatchError(SprocketError):
    """The deployed function runs other code than this coordinator."""

    exit_code = 2


class LambdaTaskError(RuntimeError):
    """The task raised in the function (Lambda's ``FunctionError``)."""


class LambdaThrottledError(RepeatingTaskError):
    """Lambda throttled an invocation for longer than :data:`THROTTLE_BUDGET_S`: retrying the
    task would be throttled the same, so the job fails (and can be resumed later)."""


def repeating_error(reported: dict[str, str]) -> RepeatingTaskError:
    """The failure a worker reported as one that would repeat (the handler's ``repeating``
    reply), as the class it was raised as where that is one of ours (a full disk keeps its
    exit code), so that the job fails once with the line a local worker's failure gives."""
    kinds = {kind.__name__: kind for kind in RepeatingTaskError.__subclasses__()}
    return kinds.get(reported.get("kind", ""), RepeatingTaskError)(reported.get("message", "the task failed"))


class _Closed(LambdaTaskError):
    """The executor closed while an invocation was backing off (read by no one: the job is over)."""

    def __init__(self) -> None:
        super().__init__("the job ended while this invocation waited out throttling")


@dataclass(frozen=True)
class Billing:
    """One invocation's billed duration and memory, from its REPORT line."""

    billed_ms: int
    memory_mb: int


def parse_report(log_tail: str) -> Billing | None:
    """The REPORT line's billed duration and memory size, if the log tail holds one."""
    found = _REPORT.search(log_tail)
    return Billing(int(found.group(1)), int(found.group(2))) if found else None


class _Copy:
    """One submitted copy's clock: when it was submitted, how long it has backed off."""

    def __init__(self, submitted: float) -> None:
        self.submitted = submitted
        self.backed_off = 0.0
        """Seconds of finished back-off pauses."""
        self.throttled_s = 0.0
        """Of which throttling (the budget :data:`THROTTLE_BUDGET_S` limits)."""
        self.pausing_since: float | None = None
        self.ended: float | None = None


class LambdaExecutor(Executor):
    NAME: ClassVar[str] = "lambda"
    SIGNS_ON_SUBMIT: ClassVar[bool] = False  # _run signs at each try, after any back-off

    def __init__(
        self,
        workers: int,
        function: str,
        *,
        memory_mb: int,
        arch: str,
        client: LambdaClient,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sleep``, ``rng`` and ``clock``: the back-off's pause, its jitter and the clock
        (tests pass a virtual clock whose sleep advances it). By default a pause ends early
        when the executor closes, so that a job ending is not held up by throttled copies."""
        self._client = client
        self.function = function
        self._memory_mb = memory_mb
        self._arch = arch
        self._closing = threading.Event()
        self._sleep = sleep or self._closing.wait
        self._rng, self._clock = rng, clock
        self._copies: weakref.WeakKeyDictionary[Future[Result], _Copy] = weakref.WeakKeyDictionary()
        self.reach = workers_reach(client.meta.endpoint_url)
        """Which URLs the workers can read, from where the endpoint says they run."""
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
            reply = self._invoke(lambda: {"metadata": True}, lambda: None, _Copy(self._clock()))
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

    def now(self) -> float:
        return self._clock()

    def task_seconds(self) -> float:
        # The function's timeout (as `sprocket setup` deploys it; check_bundle saw the same
        # code) ends every invocation, whatever the job's own limit.
        return min(super().task_seconds(), TIMEOUT_S)

    def check_sources(self, sources: list[str]) -> None:
        """:class:`~sprocket_cli.aws.reach.UnreachableInputError` for the first URL in
        ``sources`` the workers cannot reach (this machine's loopback, a private network)."""
        for source in sources:
            self.reach.check(source)

    def submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        # Refused before anything is booked or invoked: a worker in AWS would only time out.
        self.check_sources([s for s in (task.source, *(m.source for m in task.more)) if s])
        return super().submit(task, storage)

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        copy = _Copy(self._clock())
        future = self._pool.submit(self._run, task, storage, copy)
        self._copies[future] = copy
        return future

    def running_seconds(self, future: Future[Result]) -> float | None:
        """Seconds the copy behind ``future`` has worked (or worked, once returned): since it
        was submitted, less its throttling back-off, which is the account's queue and not the
        task's time. None for a future this executor did not make."""
        copy = self._copies.get(future)
        if copy is None:
            return None
        with self._billing:
            now = copy.ended if copy.ended is not None else self._clock()
            pausing = 0.0 if copy.pausing_since is None else now - copy.pausing_since
            return max(0.0, now - copy.submitted - copy.backed_off - pausing)

    def _run(self, task: Task, storage: StorageSpec, copy: _Copy) -> Result:
        def throttled() -> None:
            self._reports.put(Progress(task.task_id, task.copy, "lambda", "throttled", 0))

        def event() -> dict[str, Any]:
            return {"task": json.loads(self.signed(task).to_json()), "storage": asdict(storage)}

        try:
            reply = self._invoke(event, throttled, copy)
        finally:
            copy.ended = self._clock()
        if "repeating" in reply:
            raise repeating_error(reply["repeating"])
        result = Result.from_json(json.dumps(reply["result"]))
        meta = {**result.meta, "billed_ms": reply["billed_ms"], "backoff_s": round(copy.backed_off, 3)}
        return replace(result, meta=meta)

    def _invoke(
        self, event: Callable[[], dict[str, Any]], throttled: Callable[[], None], copy: _Copy
    ) -> dict[str, Any]:
        """Invoke the function with ``event()``, made anew for each try (its URLs are signed
        as it leaves); retry throttling; the reply with ``billed_ms``. Back-off pauses are
        booked on ``copy``."""
        from botocore.exceptions import ClientError

        faults = 0  # tries the service failed; throttles are not among them
        for attempt in itertools.count():
            payload = json.dumps(event()).encode()
            if len(payload) > PAYLOAD_LIMIT // 2:  # refs only: anything near the limit is a bug
                raise ValueError(f"a task payload of {len(payload)} bytes is too large for Lambda")
            try:
                response = self._client.invoke(FunctionName=self.function, Payload=payload, LogType="Tail")
                break
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in THROTTLED:
                    if copy.throttled_s >= THROTTLE_BUDGET_S:
                        raise LambdaThrottledError(_throttled_too_long(self.function, exc)) from None
                    with self._billing:
                        self.throttles += 1
                # 500 and 503: the service's own trouble. Other 5xx (502) are the function's
                # set-up failing (its network, keys or code): another try would fail the same.
                elif (code not in RETRYABLE and status not in (500, 503)) or faults == MAX_TRIES - 1:
                    raise
                else:
                    faults += 1
                throttled()
                pause = self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 16))
                self._pause(copy, pause, throttle=code in THROTTLED)
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

    def _pause(self, copy: _Copy, seconds: float, *, throttle: bool) -> None:
        """Back off for ``seconds``, booked on ``copy`` (and on its throttling budget)."""
        with self._billing:
            copy.pausing_since = began = self._clock()
        self._sleep(seconds)
        with self._billing:  # both at once: running_seconds reads them together
            paused = self._clock() - began
            copy.backed_off += paused
            copy.throttled_s += paused if throttle else 0.0
            copy.pausing_since = None
        if self._closing.is_set():
            raise _Closed()  # the job is over: no invocation after close()

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
        self._closing.set()  # ends back-off pauses: those copies invoke nothing more
        self._pool.shutdown(wait=True, cancel_futures=True)


def _throttled_too_long(function: str, exc: Exception) -> str:
    """The one line for throttling past the budget, with Lambda's reason when it gives one."""
    reason = getattr(exc, "response", {}).get("Reason") or "TooManyRequestsException"
    return (
        f"Lambda throttled every invocation of {function} for {THROTTLE_BUDGET_S:.0f} s ({reason}): "
        "the account's concurrency is taken (other functions, or the function's reserved "
        "concurrency is 0); run with fewer --workers, or `sprocket resume` the job later"
    )


def lambda_client(
    session: boto3.Session, region: str, timeout: float, workers: int = DEFAULT_CONNECTIONS
) -> LambdaClient:
    """A Lambda client that waits as long as an invocation may run, and leaves retries to us
    (so that each throttle is seen and reported). One per job, shared by the executor's
    threads (a client is thread-safe), with a kept-alive connection for each of ``workers``
    invocations at once: a pool smaller than the threads would drop connections and open new
    ones, a TLS handshake per invocation."""
    from botocore.config import Config

    config = Config(
        read_timeout=int(timeout) + 30,
        connect_timeout=10,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(workers, DEFAULT_CONNECTIONS),
    )
    return session.client("lambda", region_name=region, config=config)
