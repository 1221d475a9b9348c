"""The executor interface: submit a task, get a future of its result."""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Collection
from concurrent.futures import FIRST_COMPLETED, Future, wait
from types import TracebackType
from typing import ClassVar, Protocol

from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Progress, Result, Task


class Executor(ABC):
    NAME: ClassVar[str]

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("an executor needs at least one worker")
        self.workers = workers
        self._in_flight = 0
        self._lock = threading.Lock()  # done-callbacks run on pool threads

    @abstractmethod
    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]: ...

    def submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        """Start ``task`` against ``storage``; the future holds its result or its exception."""
        with self._lock:
            self._in_flight += 1
        future = self._submit(task, storage)
        future.add_done_callback(self._done)
        return future

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
