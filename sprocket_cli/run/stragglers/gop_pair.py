"""``gop-pair``: chunks go in pairs; each worker does its own chunk, then its partner's unless
the partner has delivered it (and stops the moment the partner does)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from sprocket_cli.run.stragglers.base import Strategy
from sprocket_cli.tasks import ChunkRef, Task


class GopPair(Strategy):
    NAME: ClassVar[str] = "gop-pair"

    def pair(self, task: Task, partner: ChunkRef | None, partner_id: str, partner_key: str) -> Task:
        if partner is None or task.source is None:
            return task
        return dataclasses.replace(
            task, partner=partner, partner_task_id=partner_id, partner_output_key=partner_key
        )
