"""The executor interface: submit a task, get a future of its result."""

from __future__ import annotations

import math
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from types import TracebackType
from typing import ClassVar, Protocol

from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Progress, Result, Task

Signer = Callable[[str, int], str]
"""(an ``s3://bucket/key`` input, seconds) -> a URL that reads it for that long from now."""

#: Seconds a task's signed URL outlives the longest the task may run: the worker must start
#: and ffmpeg reach S3 first, and the worker's clock may be a little ahead of ours.
SIGNED_MARGIN_S = 5 * 60
#: The longest a task is taken to run when nothing limits it (no ``--task-timeout``): a chunk
#: takes seconds to minutes; ffmpeg reads a source in a few requests, and S3 checks the
#: signature when a request starts, not while its body streams.
UNLIMITED_TASK_S = 30 * 60


class Executor(ABC):
    NAME: ClassVar[str]

    SIGNS_ON_SUBMIT: ClassVar[bool] = True
    """Whether :meth:`submit` presigns a task's ``s3://`` inputs; an executor that may hold a
    task back after it is submitted (Lambda: throttling) signs with :meth:`signed` itself, as
    the task leaves for its worker."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("an executor needs at least one worker")
        self.workers = workers
        self._in_flight = 0
        self._lock = threading.Lock()  # done-callbacks run on pool threads
        self._signer: Signer | None = None
        self._task_limit: float | None = None

    @abstractmethod
    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]: ...

    def submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        """Start ``task`` against ``storage``; the future holds its result or its exception.

        The caller's ``task`` keeps its ``s3://`` inputs as named: only the copy that goes to
        the worker carries URLs, signed now (see :meth:`signed`)."""
        if self.SIGNS_ON_SUBMIT:
            task = self.signed(task)
        with self._lock:
            self._in_flight += 1
        future = self._submit(task, storage)
        future.add_done_callback(self._done)
        return future

    def sign_inputs(self, signer: Signer, task_limit: float | None = None) -> None:
        """Presign tasks' ``s3://`` inputs with ``signer`` as they are dispatched, each URL
        valid for the task's run (``task_limit``: the job's time limit on a task, seconds)."""
        self._signer, self._task_limit = signer, task_limit

    def task_seconds(self) -> float:
        """The longest a task may run on these workers, seconds: the job's limit, or
        :data:`UNLIMITED_TASK_S`; an executor whose workers have a hard limit says so."""
        return self._task_limit or UNLIMITED_TASK_S

    def url_seconds(self) -> int:
        """Seconds a URL signed for a task at its dispatch stays valid."""
        return math.ceil(self.task_seconds()) + SIGNED_MARGIN_S

    def signed(self, task: Task) -> Task:
        """``task`` with each ``s3://`` input replaced by a URL signed now for
        :meth:`url_seconds`, so that a task dispatched hours into a job (or in a resume) reads
        with a fresh URL, and none lives longer than its task; ``task`` itself if it has none."""
        lanes = [task.source, *(m.source for m in task.more)]
        if not any(s is not None and s.startswith("s3://") for s in lanes):
            return task
        if self._signer is None:
            raise ValueError(f"task {task.task_id} reads an s3:// input, and this executor has no signer")
        seconds, sign = self.url_seconds(), self._signer

        def url(source: str | None) -> str | None:
            return sign(source, seconds) if source is not None and source.startswith("s3://") else source

        return replace(
            task, source=url(task.source), more=tuple(replace(m, source=url(m.source)) for m in task.more)
        )

    def _done(self, _future: Future[Result]) -> None:
        with self._lock:
            self._in_flight -= 1

    def check_sources(self, sources: list[str]) -> None:  # noqa: B027  # optional: most read what we read
        """Raise, naming it, for a source the workers cannot read; by default they read what
        this machine reads."""

    def running_seconds(self, future: Future[Result]) -> float | None:
        """Seconds ``future``'s task has run, where the executor knows better than the time
        since it was submitted (Lambda: not counting back-off from throttling); None: it
        does not."""
        return None

    def can_submit(self) -> bool:
        """Whether a submitted task would start now rather than wait in a queue."""
        return self._in_flight < self.workers

    # The coordinator keeps time through its executor, so that a simulated executor can run
    # the real coordinator on a virtual clock.

    def now(self) -> float:
        """Seconds on the executor's clock (monotonic)."""
        return time.monotonic()

    def wait(self, futures: Collection[Future[Result]], timeout: float | None) -> set[Future[Result]]:
        """The futures among ``futures`` done within ``timeout`` seconds (at least one if any)."""
        # A future cancelled while queued is done at once, but concurrent.futures.wait sees it
        # only when a worker reaches it in the queue (and after close(), never).
        done = {f for f in futures if f.done()}
        return done or wait(futures, timeout=timeout, return_when=FIRST_COMPLETED).done

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    REAL_TIME: ClassVar[bool] = True
    """Whether the clock is the wall clock (people can watch and steer the job), not virtual."""

    def progress(self) -> list[Progress]:
        """Workers' reports since the last call (phases, frames); none if the backend has none."""
        return []

    def memory_mb(self) -> int | None:
        """Memory per worker where it sets the price (Lambda); None where it does not."""
        return None

    def arch(self) -> str | None:
        """The workers' CPU architecture where it sets the price (Lambda: arm64, x86_64)."""
        return None

    def threads_per_task(self) -> int:
        """ffmpeg threads each task should use; 0 lets ffmpeg decide."""
        return 0

    def cores(self) -> int:
        """Cores the workers run on, which a job's utilisation is measured against: one per
        worker where each has its own (the safe default); local workers share the machine's."""
        return self.workers

    def close(self) -> None:  # noqa: B027  # optional ability; the safe default is nothing to release
        """Release workers; running tasks are cancelled where the executor can."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Reports(Protocol):
    def get_nowait(self) -> Progress: ...


def drain(reports: _Reports) -> list[Progress]:
    """Every report waiting in ``reports`` (a queue the workers fill), without blocking."""
    got = []
    while True:
        try:
            got.append(reports.get_nowait())
        except queue.Empty:
            return got
