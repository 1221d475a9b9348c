"""What every part of a running job shares: the job, its executor and storage, the clock, the
journal every event goes to, and the running accounts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.events import Event
from sprocket_cli.executors.base import Executor
from sprocket_cli.jobs.journal import Journal
from sprocket_cli.run.job import Job
from sprocket_cli.run.ledger import Ledger
from sprocket_cli.storage import Storage
from sprocket_cli.tasks import Task
from sprocket_cli.worker import cpu_seconds


@dataclass
class Accounts:
    """What the job cost, accumulated as tasks finish."""

    worker_seconds: float = 0.0
    """Sum of tasks' read + compute + write seconds."""
    invocations: int = 0
    peak_workers: int = 0
    deadline_misses: int = 0
    first_segment: float | None = None
    """Seconds after the start that the first segment became playable."""
    billed_seconds: float = 0.0
    """Duration billed by the backend (Lambda), from the results."""


@dataclass
class RunContext:
    job: Job
    executor: Executor
    storage: Storage
    journal: Journal
    started: float
    """The executor's clock when the job started (a simulated executor's is virtual)."""
    accounts: Accounts = field(default_factory=Accounts)
    started_at: float = field(default_factory=time.time)
    """Unix time the job started, the clock workers' timings are on."""
    cpu_at_start: float = field(default_factory=cpu_seconds)
    """The coordinator's CPU-seconds (with its finished children's) when the job started."""
    ledger: Ledger = field(init=False)

    def __post_init__(self) -> None:
        origin = self.started_at if self.executor.REAL_TIME else self.started
        self.ledger = Ledger(self.job.workers, real_time=self.executor.REAL_TIME, origin=origin)

    def now(self) -> float:
        """Seconds since the job started, on the executor's clock."""
        return self.executor.now() - self.started

    def about(self, task: Task) -> dict[str, Any]:
        """The fields every task event starts with."""
        return {"t": self.now(), "task_id": task.task_id, "group": task.group, "chunk": task.chunk.index}

    def emit(self, event: Event) -> Event:
        """Journal ``event`` and hand it on."""
        self.journal.append(event)
        return event
