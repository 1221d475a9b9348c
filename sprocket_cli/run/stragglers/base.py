"""The interface every straggler strategy implements; each hook's default does nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, cast

from sprocket_cli.errors import OptionError
from sprocket_cli.tasks import ChunkRef, Task

STRAGGLERS_GROUP = "sprocket.stragglers"


class Strategy:
    """One copy of each task: what every strategy does where it adds nothing."""

    NAME: ClassVar[str]
    SPECULATIVE: ClassVar[bool] = False
    """Whether the coordinator must look at running tasks' ages (:meth:`backups`)."""

    def __init__(self, speculate_after: float = 2.0) -> None:
        if not speculate_after > 0:
            raise OptionError("speculate_after", f"must be positive, not {speculate_after}")
        self.speculate_after = speculate_after
        """A backup starts after this many times the stage's median duration (speculative)."""

    def clones(self, task: Task) -> list[Task]:
        """Extra copies to queue right after ``task`` is dispatched."""
        return []

    def pair(self, task: Task, partner: ChunkRef | None, partner_id: str, partner_key: str) -> Task:
        """``task``, with a partner chunk its worker also does when the strategy pairs them."""
        return task

    def finished(self, task: Task, seconds: float) -> None:
        """``task`` took ``seconds`` from dispatch to result."""

    def backups(self, running: Iterable[tuple[Task, float]], now: float) -> list[Task]:
        """Backups due now for (task, dispatch time) pairs still running."""
        return []

    def next_check(self, running: Iterable[tuple[Task, float]], now: float) -> float | None:
        """Seconds until some running task would need a backup; None if none could."""
        return None


def make_strategy(name: str, speculate_after: float = 2.0) -> Strategy:
    """The strategy registered as ``name``, or a one-line error listing those installed."""
    from sprocket_cli.pipeline.registry import load_plugin

    return cast("type[Strategy]", load_plugin(STRAGGLERS_GROUP, name, "straggler strategy", Strategy))(
        speculate_after
    )
