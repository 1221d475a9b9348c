"""What the TUI shows, folded from the core's events; no Textual here, so it is cheap to test
and to measure (the 1,000-worker benchmark times :meth:`JobView.apply` alone).

Rows of the workers table are the job's worker *slots* (``TaskStarted.slot``): at most
``workers`` rows, each showing the copy it runs now or ran last.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.events import (
    Event,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobPaused,
    JobStarted,
    NodeWork,
    SegmentReady,
    TaskFailed,
    TaskFinished,
    TaskProgress,
    TaskQueued,
    TaskStarted,
    TaskSuperseded,
)
from sprocket_cli.media.targetq import chunk_quality
from sprocket_cli.plan.pricing import lambda_cost

#: Chunk states, best first: the strip shows the worst state of the chunks in a cell.
CHUNK_STATES = ("done", "running", "queued", "waiting", "retrying", "failed")
#: Lines kept in the log pane.
LOG_LINES = 500


@dataclass
class SlotRow:
    """One worker slot: the copy it holds now, or held last."""

    slot: int
    worker: str = ""
    """``host:pid`` (local) or the container, once the worker reported."""
    group: str = ""
    chunk: int | None = None
    state: str = "idle"
    """idle, starting, retrying, reading, computing, writing, done, failed, superseded, timed out."""
    attempt: int = 0
    copy: int = 0
    started: float = 0.0
    """Job-clock seconds the copy was dispatched."""
    ended: float | None = None
    computing_since: float | None = None
    frames: int = 0
    compute: float | None = None
    """Seconds the worker spent computing, once the copy is done (its own measurement)."""
    tasks_done: int = 0

    @property
    def running(self) -> bool:
        return self.ended is None and self.state not in ("idle", "done", "failed", "superseded")

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started

    def fps(self, now: float) -> float:
        if self.compute is not None:
            return self.frames / self.compute if self.compute > 0 else 0.0
        if self.computing_since is None or not self.frames or self.ended is not None:
            return 0.0
        spent = now - self.computing_since
        return self.frames / spent if spent > 0 else 0.0


@dataclass
class StageBar:
    name: str
    total: int
    done: int = 0
    serialized: bool = False
    """Its frames go in playback order to one worker (a stateful stage): labelled so."""


@dataclass
class LogLine:
    t: float
    level: str
    """info, warn or error."""
    text: str


@dataclass
class JobView:
    """Everything the screen shows; :meth:`apply` folds one event in."""

    started: JobStarted | None = None
    state: str = "waiting"
    """waiting (no JobStarted yet), running, paused, finished, failed, cancelled."""
    slots: dict[int, SlotRow] = field(default_factory=dict)
    chunks: list[str] = field(default_factory=list)
    """Per chunk of the first input: one of :data:`CHUNK_STATES`."""
    stages: dict[str, StageBar] = field(default_factory=dict)
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    last_t: float = 0.0
    """The latest event's job-clock time."""
    frames_done: int = 0
    worker_seconds: float = 0.0
    invocations: int = 0
    retries: int = 0
    stragglers: int = 0
    """Copies that gave way to a faster one."""
    segments: int = 0
    playable_until: float = 0.0
    first_segment: float | None = None
    playback_origin: float | None = None
    """Job-clock time at which playback of second 0 starts (the streaming deadline clock)."""
    deadline_misses: int = 0
    nodes: dict[str, NodeWork] = field(default_factory=dict)
    quality: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Chunk -> (CRF, VMAF) its ``--target-vmaf`` encode chose and measured."""
    """Node -> what the tasks it finished in this run did (the job's end has the final figures)."""
    finished: JobFinished | None = None
    error: str = ""
    logged: int = 0
    """Log lines ever added (the pane appends those it has not shown)."""
    _groups_done: list[int] = field(default_factory=list)
    _group_frames: dict[str, int] = field(default_factory=dict)
    """Frames each group's finished tasks handled in this run (not a resumed run's)."""
    _running: list[int] = field(default_factory=list)

    # -- folding ------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        self.last_t = max(self.last_t, event.t)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _job_started(self, e: JobStarted) -> None:
        self.started = e
        self.state = "running"
        self.stages = {
            g: StageBar(g, 0 if g in e.span_groups else e.chunks, serialized=g in e.serialized)
            for g in e.groups
        }
        self.slots = {i: SlotRow(i) for i in range(e.workers)}  # idle workers show too
        count = len(e.chunk_starts) or e.chunks
        self.chunks = ["waiting"] * count
        self._groups_done = [0] * count
        self._running = [0] * count
        for notice in e.notices:
            self._log(LogLine(e.t, "warn", notice))
        self._log(
            LogLine(e.t, "info", f"job {e.job_id}: {e.chunks} chunks on {e.workers} {e.executor} workers")
        )

    def _log(self, line: LogLine) -> None:
        self.log.append(line)
        self.logged += 1

    def _slot(self, slot: int) -> SlotRow:
        row = self.slots.get(slot)
        if row is None:
            row = self.slots[slot] = SlotRow(slot)
        return row

    def _chunk(self, index: int, state: str) -> None:
        if 0 <= index < len(self.chunks) and self.chunks[index] != "done":
            self.chunks[index] = state

    def _spans(self, group: str) -> bool:
        """Whether ``group``'s tasks are other spans than chunks (scenes): not on the strip."""
        return self.started is not None and group in self.started.span_groups

    def _queued(self, e: TaskQueued) -> None:
        if self._spans(e.group):
            return
        if 0 <= e.chunk < len(self.chunks) and self.chunks[e.chunk] in ("waiting", "done"):
            self._chunk(e.chunk, "queued")

    def _task_started(self, e: TaskStarted) -> None:
        row = self._slot(e.slot)
        row.group, row.chunk, row.attempt, row.copy = e.group, e.chunk, e.attempt, e.copy
        row.state = "retrying" if e.attempt > 1 else "starting"
        row.started, row.ended, row.computing_since, row.frames, row.compute = e.t, None, None, 0, None
        self.invocations += 1
        if self._spans(e.group):
            return
        if 0 <= e.chunk < len(self._running):
            self._running[e.chunk] += 1
        self._chunk(e.chunk, "running")
        if e.copy > 0:
            self._log(LogLine(e.t, "info", f"chunk {e.chunk}: extra copy {e.copy} started ({e.group})"))

    def _progress(self, e: TaskProgress) -> None:
        row = self._slot(e.slot)
        if row.chunk != e.chunk or row.copy != e.copy or not row.running:
            return  # a late report of a copy that has returned
        if e.phase == "computing" and row.computing_since is None:
            row.computing_since = e.t
        row.state, row.worker, row.frames = e.phase, e.worker, e.frames

    def _end(self, slot: int | None, t: float, state: str, worker: str = "") -> SlotRow | None:
        if slot is None:
            return None
        row = self._slot(slot)
        row.state, row.ended = state, t
        if worker:
            row.worker = worker
        if row.chunk is not None and 0 <= row.chunk < len(self._running) and not self._spans(row.group):
            self._running[row.chunk] = max(0, self._running[row.chunk] - 1)
        return row

    def _task_finished(self, e: TaskFinished) -> None:
        row = self._end(e.slot, e.t, "done", e.worker)
        if row is not None:
            row.frames, row.compute = e.frames, e.compute
            row.tasks_done += 1
        bar = self.stages.get(e.group)
        if bar is not None:
            bar.done += 1
        if not e.resumed:  # an earlier run's work is neither cost nor speed of this one
            self.worker_seconds += e.read + e.compute + e.write
            self._node_worked(e)
            self._group_frames[e.group] = self._group_frames.get(e.group, 0) + e.frames
            if self.started is not None and e.group == self.started.groups[-1]:
                self.frames_done += e.frames
        for chunk, crf, vmaf in chunk_quality(e.result):
            self.quality[chunk] = (crf, vmaf)
            self._log(LogLine(e.t, "info", f"chunk {chunk}: crf {crf:g} gives VMAF {vmaf:.2f}"))
        if not self._spans(e.group) and 0 <= e.chunk < len(self._groups_done):
            self._groups_done[e.chunk] += 1
            if self._groups_done[e.chunk] >= sum(1 for bar in self.stages.values() if bar.total):
                self.chunks[e.chunk] = "done"
            elif not self._running[e.chunk]:
                self._chunk(e.chunk, "queued")

    def _node_worked(self, e: TaskFinished) -> None:
        if not e.node:  # a journal from before nodes were named
            return
        seconds, meta = e.read + e.compute + e.write, (e.result or {}).get("meta", {})
        self.nodes[e.node] = self.nodes.get(e.node, NodeWork()).add(e.frames, seconds, meta)

    def _task_failed(self, e: TaskFailed) -> None:
        self._end(e.slot, e.t, "timed out" if e.timed_out else "failed")
        if e.timed_out and e.slot is not None:
            self.slots[e.slot].ended = None  # the copy still holds its worker
        self.retries += e.will_retry
        if not self._spans(e.group):
            self._chunk(e.chunk, "retrying" if e.will_retry else "failed")
        what = "retrying" if e.will_retry else "giving up"
        level = "warn" if e.will_retry else "error"
        self._log(
            LogLine(e.t, level, f"chunk {e.chunk} ({e.group}) attempt {e.attempt} failed, {what}: {e.error}")
        )

    def _superseded(self, e: TaskSuperseded) -> None:
        self._end(e.slot, e.t, "superseded", e.worker)
        self.worker_seconds += e.seconds
        self.stragglers += 1
        self._log(
            LogLine(
                e.t, "info", f"chunk {e.chunk}: copy {e.copy} gave way after {e.seconds:.1f}s ({e.worker})"
            )
        )

    def _segment(self, e: SegmentReady) -> None:
        self.segments += 1
        self.playable_until = max(self.playable_until, e.playable_until)
        if self.first_segment is None:
            self.first_segment = e.t
            self.playback_origin = e.deadline - e.start if e.deadline is not None else e.t
        if e.deadline is not None and e.t > e.deadline + 1e-9:
            self.deadline_misses += 1
            self._log(LogLine(e.t, "warn", f"segment {e.index} late for playback by {e.t - e.deadline:.1f}s"))

    def _paused(self, e: JobPaused) -> None:
        self.state = "paused" if e.paused else "running"
        self._log(LogLine(e.t, "info", "dispatching paused" if e.paused else "dispatching resumed"))

    def _job_finished(self, e: JobFinished) -> None:
        self.state, self.finished = "finished", e
        if e.nodes:
            self.nodes = dict(e.nodes)
        self._log(LogLine(e.t, "info", f"finished in {e.wall:.1f}s: {', '.join(e.outputs.values())}"))
        if e.breakdown is not None:
            self._log(LogLine(e.t, "info", e.breakdown.headline()))

    def _job_failed(self, e: JobFailed) -> None:
        self.state, self.error = "failed", e.error
        self._log(LogLine(e.t, "error", f"job failed: {e.error}"))

    def _job_cancelled(self, e: JobCancelled) -> None:
        self.state = "cancelled"
        self._log(LogLine(e.t, "warn", f"job cancelled; `sprocket resume {e.job_id}` picks it up"))

    # -- derived figures -----------------------------------------------------------------

    @property
    def over(self) -> bool:
        return self.state in ("finished", "failed", "cancelled")

    @property
    def duration(self) -> float:
        return self.started.duration if self.started is not None else 0.0

    def busy(self) -> int:
        return sum(1 for row in self.slots.values() if row.running)

    def frames_seen(self) -> float:
        """Frames through the pipeline so far, from the same figures the rows show: those of
        finished tasks and those running copies have reported, so the header moves with the
        rows from their first report. Averaged over the groups every chunk passes through, so
        that unfused stages count a frame once and the first one's progress shows."""
        groups = {g for g, bar in self.stages.items() if bar.total} or set(self.stages)
        done = sum(self._group_frames.get(g, 0) for g in groups)
        running = sum(row.frames for row in self.slots.values() if row.running and row.group in groups)
        return (done + running) / max(1, len(groups))

    def fps(self, now: float) -> float:
        return self.frames_seen() / now if now > 0 else 0.0

    def eta(self, now: float) -> float | None:
        """Seconds left at the frame rate so far; None before any frame is reported."""
        seen = self.frames_seen()
        if self.started is None or not seen or self.over:
            return None
        left = max(0, self.started.frames - seen)
        fps = self.fps(now)
        return left / fps if fps else None

    def cost(self) -> float | None:
        """Dollars so far where workers are priced by the second (Lambda); None on local ones."""
        if self.started is None or self.started.memory_mb is None:
            return None
        return lambda_cost(self.worker_seconds, self.invocations, self.started.memory_mb).dollars

    def playhead(self, now: float) -> float | None:
        """Seconds of video a viewer who started on the first segment is watching now."""
        if self.playback_origin is None:
            return None
        return min(max(0.0, now - self.playback_origin), self.duration)

    def stalled(self, now: float) -> bool:
        head = self.playhead(now)
        return head is not None and head >= self.playable_until and self.playable_until < self.duration

    def chunk_at(self, seconds: float) -> int:
        """The chunk that holds ``seconds`` of video."""
        starts = self.started.chunk_starts if self.started is not None else []
        return max(0, bisect.bisect_right(starts, seconds) - 1)


_HANDLERS: dict[type[Event], Callable[[JobView, Any], None]] = {
    JobStarted: JobView._job_started,
    TaskQueued: JobView._queued,
    TaskStarted: JobView._task_started,
    TaskProgress: JobView._progress,
    TaskFinished: JobView._task_finished,
    TaskFailed: JobView._task_failed,
    TaskSuperseded: JobView._superseded,
    SegmentReady: JobView._segment,
    JobPaused: JobView._paused,
    JobFinished: JobView._job_finished,
    JobFailed: JobView._job_failed,
    JobCancelled: JobView._job_cancelled,
}
