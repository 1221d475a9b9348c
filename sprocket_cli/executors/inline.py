"""Run each task synchronously in the coordinator's process: for tests and debugging."""

from __future__ import annotations

from concurrent.futures import Future
from typing import ClassVar

from sprocket_cli.executors.base import Executor
from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.tasks import Progress, Result, Task
from sprocket_cli.worker import run_task, worker_id


class InlineExecutor(Executor):
    NAME: ClassVar[str] = "inline"

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._reports: list[Progress] = []

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        future: Future[Result] = Future()
        future.set_running_or_notify_cancel()

        def report(phase: str, frames: int) -> None:
            self._reports.append(Progress(task.task_id, task.copy, worker_id(), phase, frames))

        try:
            future.set_result(run_task(task, open_storage(storage), report))
        except Exception as exc:  # a task's failure belongs in its future, like a pool's
            future.set_exception(exc)
        return future

    def progress(self) -> list[Progress]:
        reports, self._reports = self._reports, []
        return reports
