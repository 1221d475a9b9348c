"""Scheduling policies (paper §3.5): which ready task runs next, and when.

A policy orders the ready queue (:meth:`Policy.priority`) and may hold a task back until a
release time (:meth:`Policy.release_time`). The coordinator asks about the head of the queue
only, so a policy costs O(log n) per task.

- ``overall`` maximises parallelism: tasks run in the order they became ready, every worker
  busy, which finishes the whole job soonest.
- ``first-frame`` runs tasks on the critical path of the earliest output first: lower chunks
  before higher ones, later pipeline stages of a chunk before earlier stages of the next.
- ``streaming`` keeps just enough work in flight to stay ahead of a playback deadline that
  starts ``deadline_start`` seconds after the first segment: it holds chunks whose deadline is
  far off (sleeps when ahead) and releases them as soon as they risk being late (speeds up
  when behind).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.errors import OptionError, UsageError

if TYPE_CHECKING:  # the tasks module is heavy for the CLI's --help, which reads this
    from sprocket_cli.tasks import Task

Priority = tuple[float, ...]


@dataclass
class PlaybackClock:
    """When each part of the output must be playable, once the first segment exists."""

    deadline_start: float
    """Seconds between the first segment being ready and playback starting."""
    anchor: float | None = None
    """Clock time playback starts; None until the first segment is ready."""

    def start(self, first_segment_at: float) -> None:
        if self.anchor is None:
            self.anchor = first_segment_at + self.deadline_start

    def deadline(self, offset: float) -> float | None:
        """Clock time by which the output from ``offset`` seconds on must be playable."""
        if self.anchor is None:
            return None
        return self.anchor + offset


class Policy(ABC):
    NAME: ClassVar[str]

    def __init__(self, group_order: dict[str, int]) -> None:
        self.group_order = group_order
        """Group name -> its position in the pipeline (0 = first)."""

    @abstractmethod
    def priority(self, task: Task, seq: int) -> Priority:
        """Sort key of a ready task; ``seq`` counts tasks in the order they became ready."""

    def release_time(self, task: Task, now: float) -> float:
        """Clock time before which ``task`` should not start; <= ``now`` to start it now."""
        return now

    def task_finished(self, task: Task, seconds: float) -> None:  # noqa: B027  # optional: most policies ignore it
        """A task of ``task.group`` took ``seconds`` (from dispatch to result)."""


class Overall(Policy):
    NAME: ClassVar[str] = "overall"

    def priority(self, task: Task, seq: int) -> Priority:
        return (seq,)


class FirstFrame(Policy):
    NAME: ClassVar[str] = "first-frame"

    def priority(self, task: Task, seq: int) -> Priority:
        return (task.chunk.offset_seconds, -self.group_order[task.group], seq)


@dataclass
class _Durations:
    """Recent task durations of one group, for estimates."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def estimate(self) -> float | None:
        """The slowest recent duration: stragglers happen, and a late segment stalls playback."""
        return max(self.recent) if self.recent else None


class Streaming(FirstFrame):
    """Just in time: release a chunk when its remaining work, with a margin, meets its deadline."""

    NAME: ClassVar[str] = "streaming"
    #: Estimated remaining work is multiplied by this before comparing with the deadline.
    SAFETY = 1.5
    #: Seconds added to every estimate (invocation latency, a slow read).
    MARGIN = 1.0

    def __init__(self, group_order: dict[str, int], clock: PlaybackClock) -> None:
        super().__init__(group_order)
        self.clock = clock
        self.durations = {g: _Durations() for g in group_order}

    def task_finished(self, task: Task, seconds: float) -> None:
        self.durations[task.group].recent.append(seconds)

    def remaining_work(self, task: Task) -> float:
        """Estimated seconds from dispatching ``task`` to its chunk's segment being ready."""
        known = [e for d in self.durations.values() if (e := d.estimate()) is not None]
        fallback = max(known) if known else task.chunk.end_seconds - task.chunk.start_seconds
        after = [g for g, i in self.group_order.items() if i >= self.group_order[task.group]]
        return sum(self.durations[g].estimate() or fallback for g in after)

    def release_time(self, task: Task, now: float) -> float:
        # Stay ahead by at least the start-up delay the user granted: in steady state this costs
        # no extra concurrency (one chunk per chunk-length still goes out), and it absorbs a
        # straggler that the recent durations did not predict.
        budget = max(self.SAFETY * self.remaining_work(task) + self.MARGIN, self.clock.deadline_start)
        offset = task.chunk.offset_seconds
        deadline = self.clock.deadline(offset)
        if deadline is None:
            # Before the first segment, suppose playback starts the moment it is ready: the
            # first chunks go at once (they start the clock), later ones as if already due.
            deadline = now + offset
        return deadline - budget


POLICIES = ("overall", "first-frame", "streaming")


def make_policy(name: str, group_order: dict[str, int], clock: PlaybackClock | None) -> Policy:
    if name == Overall.NAME:
        return Overall(group_order)
    if name == FirstFrame.NAME:
        return FirstFrame(group_order)
    if name == Streaming.NAME:
        if clock is None:
            raise OptionError("deadline_start", "is needed by the streaming policy")
        return Streaming(group_order, clock)
    raise UsageError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")
