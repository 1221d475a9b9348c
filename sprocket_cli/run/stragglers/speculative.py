"""``speculative``: a backup starts when a task runs longer than ``k`` times the median of its
stage's finished tasks (k: ``--speculate-after``)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable
from typing import ClassVar

from sprocket_cli.run.stragglers.base import Strategy
from sprocket_cli.tasks import Task


class Speculative(Strategy):
    NAME: ClassVar[str] = "speculative"
    SPECULATIVE: ClassVar[bool] = True

    def __init__(self, speculate_after: float = 2.0) -> None:
        super().__init__(speculate_after)
        self.durations: dict[str, list[float]] = {}
        self.backed_up: set[str] = set()

    def finished(self, task: Task, seconds: float) -> None:
        self.durations.setdefault(task.group, []).append(seconds)

    def _limit(self, group: str) -> float | None:
        done = self.durations.get(group)
        return self.speculate_after * statistics.median(done) if done else None

    def _waiting(self, task: Task) -> bool:
        """Whether ``task`` is an original that has no backup yet."""
        return task.copy == 0 and task.task_id not in self.backed_up

    def backups(self, running: Iterable[tuple[Task, float]], now: float) -> list[Task]:
        due = []
        for task, dispatched in running:
            limit = self._limit(task.group)
            if self._waiting(task) and limit is not None and now - dispatched > limit:
                self.backed_up.add(task.task_id)
                due.append(dataclasses.replace(task, copy=1))
        return due

    def next_check(self, running: Iterable[tuple[Task, float]], now: float) -> float | None:
        times = [
            dispatched + limit - now
            for task, dispatched in running
            if self._waiting(task) and (limit := self._limit(task.group)) is not None
        ]
        return max(0.0, min(times)) if times else None
