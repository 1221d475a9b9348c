"""Straggler mitigation (paper §3.6): extra copies of tasks, of which the first result wins.

Every copy writes its output exclusively under the same key, and a copy stops as soon as the
key exists, so duplicates never write a segment twice and cost little once they lose.

- ``none``: one copy of each task.
- ``clone``: every task runs twice from the start.
- ``speculative``: a backup starts when a task runs longer than ``k`` times the median of
  its stage's finished tasks.
- ``gop-pair``: chunks go in pairs; each worker does its own chunk, then its partner's
  unless the partner has delivered it (and stops the moment the partner does).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from sprocket_cli.errors import UsageError
from sprocket_cli.tasks import ChunkRef, Task

STRATEGIES = ("none", "clone", "speculative", "gop-pair")


@dataclass
class Stragglers:
    strategy: str = "none"
    speculate_after: float = 2.0
    """``speculative``: a backup starts after this many times the stage's median duration."""
    durations: dict[str, list[float]] = field(default_factory=dict)
    backed_up: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UsageError(f"--stragglers must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        if not self.speculate_after > 0:
            raise UsageError(f"--speculate-after must be positive, not {self.speculate_after}")

    @property
    def speculative(self) -> bool:
        return self.strategy == "speculative"

    def clones(self, task: Task) -> list[Task]:
        """Extra copies to queue right after ``task`` is dispatched."""
        if self.strategy == "clone" and task.copy == 0:
            return [dataclasses.replace(task, copy=1)]
        return []

    def pair(self, task: Task, partner: ChunkRef | None, partner_id: str, partner_key: str) -> Task:
        """``task`` with its gop-pair partner attached, under that strategy."""
        if self.strategy != "gop-pair" or partner is None or task.source is None:
            return task
        return dataclasses.replace(
            task, partner=partner, partner_task_id=partner_id, partner_output_key=partner_key
        )

    def finished(self, task: Task, seconds: float) -> None:
        self.durations.setdefault(task.group, []).append(seconds)

    def _limit(self, group: str) -> float | None:
        done = self.durations.get(group)
        return self.speculate_after * statistics.median(done) if done else None

    def backups(self, running: Iterable[tuple[Task, float]], now: float) -> list[Task]:
        """``speculative``: backups due now for (task, dispatch time) pairs still running."""
        if self.strategy != "speculative":
            return []
        due = []
        for task, dispatched in running:
            limit = self._limit(task.group)
            fresh = task.copy == 0 and task.task_id not in self.backed_up
            if fresh and limit is not None and now - dispatched > limit:
                self.backed_up.add(task.task_id)
                due.append(dataclasses.replace(task, copy=1))
        return due

    def next_check(self, running: Iterable[tuple[Task, float]], now: float) -> float | None:
        """Seconds until some running task would need a backup; None if none could."""
        if self.strategy != "speculative":
            return None
        times = [
            dispatched + limit - now
            for task, dispatched in running
            if task.copy == 0
            and task.task_id not in self.backed_up
            and (limit := self._limit(task.group)) is not None
        ]
        return max(0.0, min(times)) if times else None
