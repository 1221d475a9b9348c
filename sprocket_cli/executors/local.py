"""Run tasks in a pool of local worker processes."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ClassVar

from sprocket_cli.executors.base import Executor
from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.tasks import Result, Task


def _warm() -> None:
    """Import the worker path and every stage now, while the coordinator is still planning."""
    from sprocket_cli.registry import STAGE_GROUP, installed, stage_class

    for name in installed(STAGE_GROUP):
        stage_class(name)


def _run(task_json: str, storage: StorageSpec) -> str:
    # Runs in the worker process; JSON in and out keeps the boundary the same as Lambda's.
    from sprocket_cli.worker import run_task

    return run_task(Task.from_json(task_json), open_storage(storage)).to_json()


class LocalExecutor(Executor):
    NAME: ClassVar[str] = "local"

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the coordinator may hold threads (servers, the TUI) that fork breaks.
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.workers):
            pool.submit(_warm)  # each submit finds no idle worker yet, so all start at once
        return pool

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        try:
            raw = self._pool.submit(_run, task.to_json(), storage)
        except BrokenProcessPool:
            # A worker died (killed, out of memory); its tasks failed and will be retried on
            # a fresh pool.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raw = self._pool.submit(_run, task.to_json(), storage)
        future: Future[Result] = Future()
        future.set_running_or_notify_cancel()

        def relay(done: Future[str]) -> None:
            exc = done.exception()
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(Result.from_json(done.result()))

        raw.add_done_callback(relay)
        return future

    def threads_per_task(self) -> int:
        # Split the cores between concurrent tasks instead of oversubscribing them.
        return max(1, (os.cpu_count() or 1) // self.workers)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
