"""A simulated cloud on a discrete-event clock, to run the real coordinator at 1000-way scale.

Nothing is executed: each submitted task gets a finish time from :class:`CloudModel`, and
:meth:`SimulatedExecutor.wait` jumps the clock to the next finish. The coordinator, the
scheduling policies, the events and the journal are the real ones, so a one-hour, 3,600-chunk
job at 1,000 workers runs in seconds and its summary means what a real run's would.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import ClassVar

from sprocket_cli.executors.base import Executor
from sprocket_cli.plan.pricing import MAX_VCPUS, MB_PER_VCPU
from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Progress, Result, Task, Timings

#: Seconds of one core per frame, as a share of the fused decode -> filter -> encode time.
#: Measured on this machine (1080p25 testsrc2, one thread each, 250 frames):
#:   decode 1.9 s, decode+hue 2.0 s, decode+hue+x264 veryfast 9.3 s, decode+FFV1 encode 8.7 s.
STAGE_COST = {"decode": 0.20, "filter": 0.05, "encode": 0.75}
#: Writing a lossless intermediate (FFV1) and reading one back, same units.
INTERMEDIATE_WRITE_COST = 0.72
INTERMEDIATE_READ_COST = 0.20


class ThrottledError(Exception):
    """The simulated service answered 429: too many concurrent or per-second invocations."""


@dataclass(frozen=True)
class CloudModel:
    """The simulated cloud's parameters; each says where its value comes from."""

    name: str = "lambda"
    memory_mb: int = 3008
    """Paper §4 ran 3 GB Lambdas."""
    vcpus: float | None = None
    """Cores per worker; None: Lambda's share for ``memory_mb`` (see :data:`MB_PER_VCPU`)."""
    warm_invoke_s: float = 0.0006
    """Coordinator time per warm invocation: paper §4, 1,000 warm invocations in ~600 ms."""
    cold_invoke_s: float = 0.006
    """Per cold invocation: paper §4, 1,000 cold invocations in ~6 s."""
    storage_mb_s: float = 67.0
    """Per-worker S3 throughput, ~538 Mbit/s (Hellerstein et al., CIDR 2019)."""
    storage_latency_s: float = 0.03
    """First-byte latency of one S3 request (AWS S3 performance guidelines: tens of ms)."""
    fps_per_core: float = 26.8
    """Frames/s of the fused 1080p gray pipeline on one core of this machine (measured, see
    STAGE_COST); ``sprocket plan`` measures it afresh on the user's input."""
    source_mb_s: float = 0.65
    """Compressed source megabytes per second of video (the 1080p bench clip)."""
    intermediate_mb_s: float = 40.0
    """FFV1 megabytes per second of 1080p25 video: about half of raw yuv420p (78 MB/s), an
    assumption for natural footage (the synthetic bench clip compresses to 3.7 MB/s)."""
    concurrency_limit: int = 1000
    """AWS default concurrent executions per account and region."""
    invoke_rate_limit: float = 10_000
    """Invocations per second before 429s: AWS allows 10 x the concurrency limit."""
    straggler_probability: float = 0.005
    """Chance that a task runs slow: an assumption (the paper does not give a rate)."""
    straggler_factor: float = 4.0
    """How much slower a straggler is: an assumption."""
    seed: int = 0

    @property
    def worker_vcpus(self) -> float:
        return self.vcpus if self.vcpus is not None else min(MAX_VCPUS, self.memory_mb / MB_PER_VCPU)


#: This machine as a "cloud": its cores as workers, its disk as storage, process starts as
#: invocations (measured: spawning a worker and importing the worker path takes ~0.3 s once).
def local_model(fps_per_core: float = CloudModel.fps_per_core) -> CloudModel:
    return CloudModel(
        name="local",
        vcpus=1.0,
        warm_invoke_s=0.002,
        cold_invoke_s=0.3,
        storage_mb_s=500.0,
        storage_latency_s=0.0005,
        fps_per_core=fps_per_core,
        straggler_probability=0.0,
        concurrency_limit=1_000_000,
        invoke_rate_limit=1e9,
    )


@dataclass(order=True)
class _Finish:
    at: float
    seq: int
    future: Future[Result] = field(compare=False)
    outcome: Result | BaseException = field(compare=False)


class SimulatedExecutor(Executor):
    NAME: ClassVar[str] = "simulated"
    REAL_TIME: ClassVar[bool] = False

    def __init__(self, workers: int, model: CloudModel) -> None:
        super().__init__(workers)
        self.model = model
        self._now = 0.0
        self._finishes: list[_Finish] = []
        self._seq = itertools.count()
        self._rng = random.Random(model.seed)
        self._invoker_free_at = 0.0
        self._free_at: list[float] = []
        """When each container made so far is (or was) done with its last task, as a heap."""
        self.containers = 0
        """Workers created so far (each paid a cold start)."""
        self._recent: deque[float] = deque()
        self.throttled = 0
        """Invocations answered 429."""
        self._reports: list[tuple[float, int, Progress]] = []
        """Phase changes the model foresees, by virtual time."""

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now += seconds

    def can_submit(self) -> bool:
        return self._in_flight < min(self.workers, self.model.concurrency_limit)

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        future: Future[Result] = Future()
        future.set_running_or_notify_cancel()
        m = self.model
        while self._recent and self._recent[0] <= self._now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= m.invoke_rate_limit or self._in_flight > m.concurrency_limit:
            self.throttled += 1
            self._schedule(self._now, future, ThrottledError("429 TooManyRequestsException"))
            return future
        self._recent.append(self._now)
        # Warm or cold is decided when the serial invoker gets to this call, not at submit:
        # by then a container that finished its task may be free to reuse.
        start = max(self._now, self._invoker_free_at)
        cold = not self._free_at or self._free_at[0] > start
        if cold:
            self.containers += 1
        else:
            heapq.heappop(self._free_at)
        invoked = start + (m.cold_invoke_s if cold else m.warm_invoke_s)
        self._invoker_free_at = invoked
        read, compute, write = self._durations(task)
        timings = Timings(started=invoked, read=read, compute=compute, write=write)
        finish = invoked + read + compute + write
        worker = f"sim-{self.containers}"
        for at, phase, frames in (
            (invoked, "reading", 0),
            (invoked + read, "computing", 0),
            (invoked + read + compute, "writing", task.chunk.frame_count),
        ):
            progress = Progress(task.task_id, task.copy, worker, phase, frames)
            heapq.heappush(self._reports, (at, next(self._seq), progress))
        heapq.heappush(self._free_at, finish)
        self._schedule(finish, future, self._result(task, timings))
        return future

    def memory_mb(self) -> int | None:
        return self.model.memory_mb

    def progress(self) -> list[Progress]:
        reports = []
        while self._reports and self._reports[0][0] <= self._now:
            reports.append(heapq.heappop(self._reports)[2])
        return reports

    def _durations(self, task: Task) -> tuple[float, float, float]:
        m = self.model
        chunk = task.chunk
        seconds = chunk.end_seconds - chunk.start_seconds
        names = [s.stage for s in task.stages]
        cost = sum(STAGE_COST.get(name, 0.0) for name in names)
        reads_intermediate = task.input_key is not None
        writes_intermediate = task.output_type == "frames"
        cost += INTERMEDIATE_READ_COST if reads_intermediate else 0.0
        cost += INTERMEDIATE_WRITE_COST if writes_intermediate else 0.0
        compute = chunk.frame_count * cost / (m.fps_per_core * m.worker_vcpus)
        if self._rng.random() < m.straggler_probability:
            compute *= m.straggler_factor
        in_mb = seconds * (m.intermediate_mb_s if reads_intermediate else m.source_mb_s)
        out_mb = seconds * (m.intermediate_mb_s if writes_intermediate else m.source_mb_s)
        read = m.storage_latency_s + in_mb / m.storage_mb_s
        write = m.storage_latency_s + out_mb / m.storage_mb_s
        return read, compute, write

    def _result(self, task: Task, timings: Timings) -> Result:
        chunk = task.chunk
        folder = task.output_key.rpartition("/")[0]
        return Result(
            task_id=task.task_id,
            chunk=chunk.index,
            group=task.group,
            output_key=task.output_key,
            output_type=task.output_type,
            frames=chunk.frame_count,
            timings=timings,
            worker=f"sim-{self.containers}",
            init_key=f"{folder}/init_simulated.mp4",
            init_hash="simulated",
            start_ticks=chunk.start_ticks,
            duration_ticks=round((chunk.end_pts - chunk.start_pts) * chunk.time_base * chunk.timescale),
            timescale=chunk.timescale,
            codec="avc1.640028",
            meta={"width": 1920, "height": 1080},
        )

    def _schedule(self, at: float, future: Future[Result], outcome: Result | BaseException) -> None:
        heapq.heappush(self._finishes, _Finish(at, next(self._seq), future, outcome))

    def wait(self, futures: Collection[Future[Result]], timeout: float | None) -> set[Future[Result]]:
        """Jump the clock to the next finish (or by ``timeout``) and complete what finished."""
        limit = self._now + timeout if timeout is not None else float("inf")
        done: set[Future[Result]] = set()
        while self._finishes and self._finishes[0].at <= limit:
            self._now = max(self._now, self._finishes[0].at)
            # Everything that finishes at the same instant is reported together.
            while self._finishes and self._finishes[0].at <= self._now:
                finish = heapq.heappop(self._finishes)
                self._complete(finish)
                if finish.future in futures:
                    done.add(finish.future)
            if done:
                return done
        if timeout is not None:
            self._now = max(self._now, limit)
        return done

    @staticmethod
    def _complete(finish: _Finish) -> None:
        if isinstance(finish.outcome, BaseException):
            finish.future.set_exception(finish.outcome)
        else:
            finish.future.set_result(finish.outcome)
