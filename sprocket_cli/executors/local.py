"""Run tasks in a pool of local worker processes."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import Queue
from typing import ClassVar

from sprocket_cli.executors.base import Executor, drain
from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.tasks import Progress, Result, Task

#: Seconds between a running task's frame counts on the progress queue (phases go at once).
REPORT_PERIOD = 0.5

#: In a worker process: where its reports go (set by :func:`_init`).
_reports: Queue[Progress] | None = None


def _init(reports: Queue[Progress]) -> None:
    global _reports
    _reports = reports


def _warm() -> None:
    """Import the worker path and every stage now, while the coordinator is still planning."""
    from sprocket_cli.registry import STAGE_GROUP, installed, stage_class

    for name in installed(STAGE_GROUP):
        stage_class(name)


def _run(task_json: str, storage: StorageSpec) -> str:
    # Runs in the worker process; JSON in and out keeps the boundary the same as Lambda's.
    from sprocket_cli.worker import run_task, worker_id

    task = Task.from_json(task_json)
    me = worker_id()
    last_phase, last_at = "", 0.0

    def report(phase: str, frames: int) -> None:
        nonlocal last_phase, last_at
        now = time.monotonic()
        if _reports is not None and (phase != last_phase or now - last_at >= REPORT_PERIOD):
            last_phase, last_at = phase, now
            _reports.put(Progress(task.task_id, task.copy, me, phase, frames))

    return run_task(task, open_storage(storage), report).to_json()


class LocalExecutor(Executor):
    NAME: ClassVar[str] = "local"

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        # spawn, not fork: the coordinator may hold threads (servers, the TUI) that fork breaks.
        self._context = multiprocessing.get_context("spawn")
        self._reports: Queue[Progress] = self._context.Queue()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            self.workers, mp_context=self._context, initializer=_init, initargs=(self._reports,)
        )
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

    def progress(self) -> list[Progress]:
        return drain(self._reports)

    def threads_per_task(self) -> int:
        # Split the cores between concurrent tasks instead of oversubscribing them.
        return max(1, (os.cpu_count() or 1) // self.workers)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._reports.close()
        self._reports.join_thread()
