"""``none``: one copy of each task; ``clone``: every task runs twice from the start."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from sprocket_cli.run.stragglers.base import Strategy
from sprocket_cli.tasks import Task


class NoMitigation(Strategy):
    NAME: ClassVar[str] = "none"


class Clone(Strategy):
    NAME: ClassVar[str] = "clone"

    def clones(self, task: Task) -> list[Task]:
        return [dataclasses.replace(task, copy=1)] if task.copy == 0 else []
