"""Running a prepared job on an executor, and freeing its outputs however it ends."""

from __future__ import annotations

from collections.abc import Iterator

from sprocket_cli.events import Event
from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.jobs.records import unlock_outputs
from sprocket_cli.run import Job, run_job
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage


def execute(job: Job, executor: Executor | None = None, storage: Storage | None = None) -> Iterator[Event]:
    """Run ``job`` on ``executor`` (default: new local workers) with ``storage`` (default: the
    job folder)."""
    storage = storage or LocalStorage(job.job_dir)
    try:
        if executor is not None:
            yield from run_job(job, executor, storage)
            return
        with LocalExecutor(job.workers) as local:
            yield from run_job(job, local, storage)
    finally:
        # The job has ended, however it ended: its outputs are free for the next job.
        unlock_outputs([p for p in job.outputs.values() if p is not None])
