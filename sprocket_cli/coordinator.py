"""The coordinator's event loop: tasks are created as items arrive, dispatched, retried.

:func:`run_job` is a generator of :mod:`~sprocket_cli.events`; every event is also appended to
the job's journal. The caller (CLI, TUI, a test) renders them; closing the generator early
cancels the job. Time comes from the executor, so a simulated executor runs this same loop
on a virtual clock.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import resource
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sprocket_cli.delivery import DeliveryFunction, Item, Ready
from sprocket_cli.errors import JobFailedError, OutputError
from sprocket_cli.events import (
    Event,
    JobFailed,
    JobFinished,
    JobStarted,
    SegmentReady,
    TaskFailed,
    TaskFinished,
    TaskQueued,
    TaskStarted,
)
from sprocket_cli.executors.base import Executor
from sprocket_cli.journal import Journal
from sprocket_cli.media.chunking import ChunkPlan
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.output.assemble import assemble
from sprocket_cli.output.audio import write_audio_rendition
from sprocket_cli.output.stream import StreamWriter, stream_folder
from sprocket_cli.planner import Group, PhysicalPlan
from sprocket_cli.registry import delivery_class
from sprocket_cli.scheduling import PlaybackClock, Policy, make_policy
from sprocket_cli.storage import Storage
from sprocket_cli.tasks import ChunkRef, Fault, Result, StageCall, Task

#: Seconds before the first retry of a failed task; doubles with each attempt.
RETRY_BACKOFF = 0.5


@dataclass(frozen=True)
class Job:
    """Everything a run needs, validated before it starts."""

    job_id: str
    job_dir: Path
    plan: PhysicalPlan
    inputs: dict[str, MediaInfo]
    """input_N -> the probed source."""
    chunks: dict[str, ChunkPlan]
    """input_N -> how it is cut."""
    outputs: Mapping[str, Path | None]
    """output_N -> the final MP4 to write (None: stream only, no final file)."""
    retries: int = 3
    keep_intermediate: bool = False
    workers: int = 1
    policy: str = "overall"
    deadline_start: float | None = None
    """Seconds after the first segment that playback starts; None: no playback deadline."""
    faults: tuple[Fault, ...] = ()
    """Injected trouble, by chunk (tests and benchmarks)."""
    completed: Mapping[str, Result] = field(default_factory=dict)
    """Task id -> result kept from an earlier run of this job (``resume``)."""


def run_job(job: Job, executor: Executor, storage: Storage) -> Iterator[Event]:
    """Run ``job`` on ``executor``; yield each event as it happens."""
    with Journal(job.job_dir) as journal:
        runner = _Runner(job, executor, storage, journal)
        yield from runner.run()


@dataclass
class _Accounts:
    """What the job cost, accumulated as tasks finish."""

    worker_seconds: float = 0.0
    """Sum of tasks' read + compute + write seconds."""
    invocations: int = 0
    peak_workers: int = 0
    deadline_misses: int = 0
    first_segment: float | None = None


@dataclass
class _Running:
    task: Task
    dispatched: float
    """Executor clock time the task was submitted."""


class _Runner:
    def __init__(self, job: Job, executor: Executor, storage: Storage, journal: Journal) -> None:
        self.job = job
        self.executor = executor
        self.storage = storage
        self.journal = journal
        self.started = executor.now()
        self.accounts = _Accounts()
        self.groups = {g.name: g for g in job.plan.groups}
        self.delivery: dict[str, DeliveryFunction] = {
            g.name: delivery_class(g.delivery_function)(g.ports) for g in job.plan.groups
        }
        first_input = job.plan.spec.inputs[0]
        first = job.chunks[first_input]
        self.clock = (
            PlaybackClock(job.deadline_start, origin=first.chunks[0].start)
            if job.deadline_start is not None
            else None
        )
        order = {g.name: i for i, g in enumerate(job.plan.groups)}
        self.policy: Policy = make_policy(job.policy, order, self.clock)
        self.queue: list[tuple[tuple[float, ...], int, Task]] = []
        self.retry_heap: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self.running: dict[Future[Result], _Running] = {}
        # The audio rendition is written on a thread while the first video chunks encode.
        self._side = ThreadPoolExecutor(1, thread_name_prefix="sprocket-audio")
        self.streams = {
            out: StreamWriter(
                storage,
                out,
                len(first.chunks),
                first.max_duration,
                self._side.submit(
                    write_audio_rendition, job.inputs[first_input], storage, stream_folder(out)
                ),
            )
            for out in job.outputs
        }

    def now(self) -> float:
        """Seconds since the job started, on the executor's clock."""
        return self.executor.now() - self.started

    def emit(self, event: Event) -> Event:
        self.journal.append(event)
        return event

    def run(self) -> Iterator[Event]:
        job = self.job
        first_input = job.inputs[job.plan.spec.inputs[0]]
        chunk_count = len(job.chunks[job.plan.spec.inputs[0]].chunks)
        yield self.emit(
            JobStarted(
                t=0.0,
                job_id=job.job_id,
                job_dir=str(job.job_dir),
                pipeline=job.plan.spec.name,
                inputs={k: v.source for k, v in job.inputs.items()},
                outputs={k: str(v) for k, v in job.outputs.items()},
                chunks=sum(len(p.chunks) for p in job.chunks.values()),
                tasks=len(job.plan.groups) * chunk_count,
                workers=job.workers,
                executor=self.executor.NAME,
                duration=first_input.duration,
                frames=first_input.frame_count,
                groups=[g.name for g in job.plan.groups],
                preroll=sum(p.preroll_seconds for p in job.chunks.values()),
                policy=job.policy,
            )
        )
        try:
            for name, chunk_plan in job.chunks.items():
                source = job.inputs[name].source
                for chunk in chunk_plan.chunks:
                    item = Item("chunks", ChunkRef.of(chunk), source=source)
                    yield from self.route(name, item)
            yield from self.loop()
            yield from self.finish()
        except JobFailedError as exc:
            yield self.emit(JobFailed(t=self.now(), job_id=job.job_id, error=str(exc)))
            raise
        finally:
            for future in self.running:
                future.cancel()
            self._side.shutdown(wait=True)

    def route(self, endpoint_node: str, item: Item) -> Iterator[Event]:
        """Deliver ``item`` produced by ``endpoint_node`` to every group that reads it."""
        for group in self.job.plan.groups:
            for port, src in group.inputs:
                if src.node == endpoint_node:
                    for ready in self.delivery[group.name].offer(port, item):
                        yield from self.add_task(self.make_task(group, ready))

    def make_task(self, group: Group, ready: Ready, attempt: int = 1) -> Task:
        items = list(ready.values())
        chunk = items[0].chunk
        outputs = [ep.node for ep in group.outputs if ep.is_output]
        if outputs:
            key = f"{stream_folder(outputs[0])}/seg_{chunk.index:05d}.m4s"
        else:
            ext = "m4s" if group.output_type == "chunks" else "nut"
            key = f"work/{group.name}/c{chunk.index:05d}.{ext}"
        return Task(
            job_id=self.job.job_id,
            task_id=f"{group.name}/c{chunk.index:05d}",
            group=group.name,
            chunk=chunk,
            stages=tuple(StageCall(n.name, n.stage.NAME, n.config.model_dump()) for n in group.nodes),
            output_key=key,
            output_type="chunks" if group.output_type == "chunks" else "frames",
            source=items[0].source,
            input_key=items[0].key,
            threads=self.executor.threads_per_task(),
            attempt=attempt,
            fault=next((f for f in self.job.faults if f.chunk == chunk.index), None),
        )

    def add_task(self, task: Task) -> Iterator[Event]:
        """Queue ``task``, or reuse its result from an earlier run of the job."""
        earlier = self.job.completed.get(task.task_id)
        if earlier is None:
            yield self.queue_task(task)
        else:
            yield from self.finished(task, earlier, resumed=True)

    def queue_task(self, task: Task) -> Event:
        seq = next(self._seq)
        heapq.heappush(self.queue, (self.policy.priority(task, seq), seq, task))
        return self.emit(
            TaskQueued(
                t=self.now(),
                task_id=task.task_id,
                group=task.group,
                chunk=task.chunk.index,
                attempt=task.attempt,
            )
        )

    def dispatch(self) -> Iterator[Event]:
        """Submit ready tasks while workers are free and the policy releases them."""
        while self.queue and self.executor.can_submit():
            task = self.queue[0][2]
            clock = self.executor.now()
            if self.policy.release_time(task, clock - self.started) > clock - self.started:
                return
            heapq.heappop(self.queue)
            self.running[self.executor.submit(task, self.storage.spec())] = _Running(task, clock)
            self.accounts.invocations += 1
            self.accounts.peak_workers = max(self.accounts.peak_workers, len(self.running))
            yield self.emit(
                TaskStarted(
                    t=self.now(),
                    task_id=task.task_id,
                    group=task.group,
                    chunk=task.chunk.index,
                    attempt=task.attempt,
                )
            )

    def wake_in(self) -> float | None:
        """Seconds until a held task or a retry is due; None if nothing is waiting on time."""
        now = self.now()
        times = []
        if self.retry_heap:
            times.append(self.retry_heap[0][0] - self.started)
        if self.queue and self.executor.can_submit():
            times.append(self.policy.release_time(self.queue[0][2], now))
        return max(0.0, min(times) - now) if times else None

    def loop(self) -> Iterator[Event]:
        while self.queue or self.running or self.retry_heap:
            while self.retry_heap and self.retry_heap[0][0] <= self.executor.now():
                yield self.queue_task(heapq.heappop(self.retry_heap)[2])
            yield from self.dispatch()
            timeout = self.wake_in()
            if not self.running:
                if timeout:
                    self.executor.sleep(timeout)  # only held or retried tasks: wait for the first
                continue
            for future in self.executor.wait(self.running.keys(), timeout):
                running = self.running.pop(future)
                exc = future.exception()
                if exc is None:
                    seconds = self.executor.now() - running.dispatched
                    self.policy.task_finished(running.task, seconds)
                    yield from self.finished(running.task, future.result())
                else:
                    yield from self.failed(running.task, exc)

    def finished(self, task: Task, result: Result, *, resumed: bool = False) -> Iterator[Event]:
        t = result.timings
        if not resumed:
            self.accounts.worker_seconds += t.read + t.compute + t.write
        yield self.emit(
            TaskFinished(
                t=self.now(),
                task_id=task.task_id,
                group=task.group,
                chunk=task.chunk.index,
                attempt=task.attempt,
                frames=result.frames,
                worker=result.worker,
                read=t.read,
                compute=t.compute,
                write=t.write,
                result=dataclasses.asdict(result),
                resumed=resumed,
            )
        )
        group = self.groups[task.group]
        item = Item(result.output_type, task.chunk, key=result.output_key)
        for ep in group.outputs:
            if ep.is_output:
                yield from self.publish(ep.node, result)
        yield from self.route(group.nodes[-1].name, item)

    def publish(self, output: str, result: Result) -> Iterator[Event]:
        writer = self.streams[output]
        for entry in writer.add(result):
            now = self.now()
            if self.accounts.first_segment is None:
                self.accounts.first_segment = now
                if self.clock is not None:
                    self.clock.start(now)
            start = entry.start_ticks / entry.timescale
            deadline = self.clock.deadline(start) if self.clock is not None else None
            if deadline is not None and now > deadline + 1e-9:
                self.accounts.deadline_misses += 1
            yield self.emit(
                SegmentReady(
                    t=now,
                    output=output,
                    index=entry.index,
                    start=start,
                    duration=entry.duration,
                    playable_until=start + entry.duration,
                    deadline=deadline,
                )
            )

    def failed(self, task: Task, exc: BaseException) -> Iterator[Event]:
        will_retry = task.attempt <= self.job.retries
        yield self.emit(
            TaskFailed(
                t=self.now(),
                task_id=task.task_id,
                group=task.group,
                chunk=task.chunk.index,
                attempt=task.attempt,
                error=str(exc) or type(exc).__name__,
                will_retry=will_retry,
            )
        )
        if not will_retry:
            raise JobFailedError(
                f"chunk {task.chunk.index} failed in {task.group} after {task.attempt} attempts: {exc}"
            )
        delay = RETRY_BACKOFF * 2 ** (task.attempt - 1)
        retry = Task(**{**task.__dict__, "attempt": task.attempt + 1})
        heapq.heappush(self.retry_heap, (self.executor.now() + delay, next(self._seq), retry))

    def finish(self) -> Iterator[Event]:
        job = self.job
        source = job.inputs[job.plan.spec.inputs[0]]
        duration_out = 0.0
        for output, writer in self.streams.items():
            if not writer.complete:
                raise JobFailedError(f"{output}: {len(writer.published)} of {writer.total} segments")
            writer.finish()
            duration_out += sum(e.duration for e in writer.published)
            dest = job.outputs[output]
            if dest is None:
                continue
            if not dest.parent.is_dir():
                raise OutputError(f"{dest.parent}: the output folder no longer exists")
            assemble(self.storage, writer.folder, writer.published, source, dest, job.job_dir)
        if not job.keep_intermediate:
            for key in self.storage.list("work/"):
                self.storage.delete(key)
        first = next(iter(self.streams.values()))
        a = self.accounts
        yield self.emit(
            JobFinished(
                t=self.now(),
                job_id=job.job_id,
                outputs={k: str(v) for k, v in job.outputs.items()},
                playlist=first.playlist_key,
                wall=self.now(),
                first_segment=a.first_segment or 0.0,
                duration_out=duration_out,
                frames_out=sum(w.frames for w in self.streams.values()),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                worker_seconds=a.worker_seconds,
                invocations=a.invocations,
                peak_workers=a.peak_workers,
                deadline_misses=a.deadline_misses,
            )
        )
