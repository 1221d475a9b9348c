"""The ready queue and the workers' slots: what runs next, retries, copies and time limits.

Tasks wait in a heap ordered by the scheduling policy; the policy may also hold one back
(the streaming policy keeps just enough in flight). Each running copy holds a worker slot
(what the TUI shows as a row). A failed task is retried after a back-off; a failure that
would repeat is not. Straggler strategies add copies: clones beside the original, or backups
of tasks running suspiciously long.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from sprocket_cli.errors import JobFailedError, SprocketError
from sprocket_cli.events import Event, TaskFailed, TaskProgress, TaskQueued, TaskStarted, TaskSuperseded
from sprocket_cli.plan.scheduling import Policy
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.stragglers.base import Strategy
from sprocket_cli.tasks import Result, Task

#: Seconds before the first retry of a failed task; doubles with each attempt.
RETRY_BACKOFF = 0.5


def retry_place(task: Task, seq: int) -> tuple[tuple[float, ...], int]:
    """Where a retry goes in the ready queue: before every first attempt, whatever the policy
    (a chunk that failed holds up the stream from its place on), and among retries in
    playback order."""
    return (-math.inf, task.chunk.offset_seconds, task.chunk.index), seq


@dataclass
class Running:
    task: Task
    dispatched: float
    """Executor clock time the task was submitted."""
    slot: int
    """Which worker slot the copy holds until it returns (what the TUI shows as a row)."""


class Dispatcher:
    def __init__(self, run: RunContext, policy: Policy, stragglers: Strategy) -> None:
        self.run = run
        self.policy = policy
        self.stragglers = stragglers
        self.queue: list[tuple[tuple[float, ...], int, Task]] = []
        self.retry_heap: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self.running: dict[Future[Result], Running] = {}
        self.free_slots = list(range(run.job.workers))
        """Worker slots not held by a running copy, as a heap (the lowest is taken first)."""
        self.paused = False
        self.done: set[str] = set()
        """Ids of tasks whose result is in (the first copy to deliver)."""
        self.copies: dict[str, set[Future[Result]]] = {}
        """Task id -> futures of its copies in flight."""
        self.timed_out: set[Future[Result]] = set()
        """Copies given up on (``task_timeout``); they stop by themselves once a retry delivers."""

    @property
    def busy(self) -> bool:
        """Whether anything is queued, running or waiting to be retried."""
        return bool(self.queue or self.running or self.retry_heap)

    def queue_task(self, task: Task, place: tuple[tuple[float, ...], int] | None = None) -> Event:
        """Queue ``task`` where the policy puts it, or at ``place`` (priority, sequence)."""
        if place is None:
            seq = next(self._seq)
            place = (self.policy.priority(task, seq), seq)
        heapq.heappush(self.queue, (*place, task))
        return self.run.emit(TaskQueued(**self.run.about(task), attempt=task.attempt))

    def requeue_due(self) -> Iterator[Event]:
        """Queue the retries whose back-off is over, ahead of every first attempt."""
        while self.retry_heap and self.retry_heap[0][0] <= self.run.executor.now():
            task = heapq.heappop(self.retry_heap)[2]
            yield self.queue_task(task, retry_place(task, next(self._seq)))

    def dispatch(self) -> Iterator[Event]:
        """Submit ready tasks while workers are free and the policy releases them."""
        executor, started = self.run.executor, self.run.started
        while self.queue and self.can_submit() and not self.paused:
            task = self.queue[0][2]
            if task.task_id in self.done:
                heapq.heappop(self.queue)  # a copy no longer needed
                continue
            clock = executor.now()
            if self.policy.release_time(task, clock - started) > clock - started:
                return
            priority, seq, _ = heapq.heappop(self.queue)
            yield from self.submit(task)
            for clone in self.stragglers.clones(task):
                # Same place in the queue as the original: the next free worker takes it.
                yield self.queue_task(clone, (priority, seq))

    def can_submit(self) -> bool:
        """Whether a copy may start now: a slot is free here and a worker is free there. The
        executor frees its worker as the future completes, which may be before this loop
        has released the copy's slot; submitting then would run more copies than slots."""
        return bool(self.free_slots) and self.run.executor.can_submit()

    def submit(self, task: Task) -> Iterator[Event]:
        run = self.run
        clock = run.executor.now()
        future = run.executor.submit(task, run.storage.spec())
        slot = heapq.heappop(self.free_slots)
        self.running[future] = Running(task, clock, slot)
        self.copies.setdefault(task.task_id, set()).add(future)
        run.accounts.invocations += 1
        run.accounts.peak_workers = max(run.accounts.peak_workers, len(self.running))
        yield run.emit(TaskStarted(**run.about(task), attempt=task.attempt, copy=task.copy, slot=slot))

    def progress(self) -> Iterator[Event]:
        """Workers' reports on copies still running, as events."""
        reports = self.run.executor.progress()
        if not reports:
            return
        by_copy = {(r.task.task_id, r.task.copy): r for r in self.running.values()}
        for p in reports:
            running = by_copy.get((p.task_id, p.copy))
            if running is None:
                continue  # it returned already; its result says more
            task = running.task
            yield self.run.emit(
                TaskProgress(
                    **self.run.about(task),
                    copy=task.copy,
                    slot=running.slot,
                    worker=p.worker,
                    phase=p.phase,
                    frames=p.frames,
                )
            )

    def release(self, future: Future[Result]) -> Running:
        """The copy behind ``future`` returned: book its slot time, and free the slot."""
        running = self.running.pop(future)
        run = self.run
        result = None if future.cancelled() or future.exception() is not None else future.result()
        first = running.task.task_id not in self.done  # no other copy delivered yet
        used = result is not None and not result.superseded and first
        run.ledger.returned(running.slot, running.dispatched - run.started, run.now(), result, used)
        heapq.heappush(self.free_slots, running.slot)
        copies = self.copies[running.task.task_id]
        copies.discard(future)
        if not copies:
            del self.copies[running.task.task_id]
        return running

    def delivered(self, task: Task) -> bool:
        """Mark ``task`` done, stopping its copies not started yet; False if it was already."""
        if task.task_id in self.done:
            return False
        self.done.add(task.task_id)
        for future in self.copies.get(task.task_id, ()):
            future.cancel()  # a copy not started yet; running ones stop by themselves
        return True

    def speculate(self) -> Iterator[Event]:
        """Start backups of tasks running suspiciously long (``--stragglers speculative``)."""
        if not self.stragglers.SPECULATIVE or self.paused:
            return
        pairs = [(r.task, r.dispatched) for r in self.running.values() if r.task.task_id not in self.done]
        for backup in self.stragglers.backups(pairs, self.run.executor.now()):
            if self.can_submit():
                yield from self.submit(backup)
            else:
                # Ahead of everything: a straggler holds up the stream, new work does not.
                yield self.queue_task(backup, ((float("-inf"),), next(self._seq)))

    def expire(self) -> Iterator[Event]:
        """Count tasks past ``task_timeout`` as failed, so that they are retried."""
        limit = self.run.job.task_timeout
        if limit is None:
            return
        now = self.run.executor.now()
        for future, r in list(self.running.items()):
            ran = self.run.executor.running_seconds(future)
            if future not in self.timed_out and (now - r.dispatched if ran is None else ran) > limit:
                self.timed_out.add(future)
                yield from self.failed(
                    r.task, TimeoutError(f"no result after {limit:g}s"), r.slot, timed_out=True
                )

    def wake_in(self) -> float | None:
        """Seconds until a held task or a retry is due; None if nothing is waiting on time."""
        run = self.run
        now = run.now()
        times = []
        if self.retry_heap:
            times.append(self.retry_heap[0][0] - run.started)
        if self.queue and self.can_submit():
            times.append(self.policy.release_time(self.queue[0][2], now))
        if self.stragglers.SPECULATIVE:
            pairs = [(r.task, r.dispatched) for r in self.running.values()]
            check = self.stragglers.next_check(pairs, run.executor.now())
            if check is not None:
                times.append(now + check)
        if run.job.task_timeout is not None:
            pending = [r.dispatched for f, r in self.running.items() if f not in self.timed_out]
            if pending:
                times.append(min(pending) + run.job.task_timeout - run.started)
        return max(0.0, min(times) - now) if times else None

    def copies_in_flight(self, task_id: str) -> int:
        """Copies of ``task_id`` still expected to deliver (timed-out ones are not), counting
        a gop-pair partner that may be delivering it as its own second half."""
        own = sum(1 for f in self.copies.get(task_id, ()) if f not in self.timed_out)
        partners = sum(
            1
            for f, r in self.running.items()
            if r.task.partner_task_id == task_id and f not in self.timed_out
        )
        return own + partners

    def superseded(self, task: Task, result: Result, slot: int) -> Iterator[Event]:
        run = self.run
        t = result.timings
        seconds = t.read + t.compute + t.write
        run.accounts.worker_seconds += seconds
        yield run.emit(
            TaskSuperseded(
                **run.about(task), copy=task.copy, worker=result.worker, seconds=seconds, slot=slot
            )
        )
        if task.task_id not in self.done and not self.copies_in_flight(task.task_id):
            # Nobody else is delivering it: the output is left over from an attempt whose
            # result never arrived (a killed worker, a killed coordinator). Redo it.
            run.storage.delete(task.output_key)
            yield self.queue_task(dataclasses.replace(task, attempt=task.attempt + 1))

    def failed(
        self, task: Task, exc: BaseException, slot: int, *, timed_out: bool = False
    ) -> Iterator[Event]:
        run = self.run
        spare = task.task_id in self.done or self.copies_in_flight(task.task_id) > 0
        # A failure that will repeat (no frame left, a filter or the encoder refusing the frames,
        # a full disk) is not worth another attempt.
        repeats = isinstance(exc, SprocketError) and not exc.retry
        will_retry = task.attempt <= run.job.retries and not spare and not repeats
        yield run.emit(
            TaskFailed(
                **run.about(task),
                attempt=task.attempt,
                error=str(exc) or type(exc).__name__,
                will_retry=will_retry,
                copy=task.copy,
                slot=slot,
                timed_out=timed_out,
            )
        )
        if spare:
            return  # another copy has delivered, or still may
        if not will_retry:
            attempts = "" if repeats else f" after {task.attempt} attempts"
            error = JobFailedError(f"chunk {task.chunk.index} failed in {task.group}{attempts}: {exc}")
            if repeats and isinstance(exc, SprocketError):
                error.exit_code = exc.exit_code  # a full disk exits as one does anywhere else
            raise error from exc  # the coordinator reads the cause: a full disk, say
        delay = RETRY_BACKOFF * 2 ** (task.attempt - 1)
        retry = Task(**{**task.__dict__, "attempt": task.attempt + 1})
        heapq.heappush(self.retry_heap, (run.executor.now() + delay, next(self._seq), retry))
