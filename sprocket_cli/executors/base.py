"""The executor interface: submit a task, get a future of its result."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future
from types import TracebackType
from typing import ClassVar

from sprocket_cli.storage import StorageSpec
from sprocket_cli.tasks import Result, Task


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

    def can_submit(self) -> bool:
        """Whether a submitted task would start now rather than wait in a queue."""
        return self._in_flight < self.workers

    def threads_per_task(self) -> int:
        """ffmpeg threads each task should use; 0 lets ffmpeg decide."""
        return 0

    def close(self) -> None:  # noqa: B027  # optional ability; the safe default is nothing to release
        """Release workers; running tasks are cancelled where the executor can."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
