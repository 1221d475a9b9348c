"""The coordinator's event loop: tasks are created as items arrive, dispatched, retried.

:func:`run_job` is a generator of :mod:`~sprocket_cli.events`; every event is also appended to
the job's journal. The caller (CLI, TUI, a test) renders them; closing the generator early
cancels the job.
"""

from __future__ import annotations

import heapq
import itertools
import resource
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
from sprocket_cli.storage import Storage
from sprocket_cli.tasks import ChunkRef, Result, StageCall, Task

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
    outputs: dict[str, Path]
    """output_N -> the final MP4 to write."""
    retries: int = 3
    keep_intermediate: bool = False
    workers: int = 1


@dataclass
class _State:
    started: float = field(default_factory=time.monotonic)
    first_segment: float | None = None
    finished_tasks: int = 0

    def now(self) -> float:
        return time.monotonic() - self.started


def run_job(job: Job, executor: Executor, storage: Storage) -> Iterator[Event]:
    """Run ``job`` on ``executor``; yield each event as it happens."""
    with Journal(job.job_dir) as journal:
        runner = _Runner(job, executor, storage, journal)
        yield from runner.run()


class _Runner:
    def __init__(self, job: Job, executor: Executor, storage: Storage, journal: Journal) -> None:
        self.job = job
        self.executor = executor
        self.storage = storage
        self.journal = journal
        self.state = _State()
        self.groups = {g.name: g for g in job.plan.groups}
        self.delivery: dict[str, DeliveryFunction] = {
            g.name: delivery_class(g.delivery_function)(g.ports) for g in job.plan.groups
        }
        self.queue: deque[Task] = deque()
        self.retry_heap: list[tuple[float, int, Task]] = []
        self._tie = itertools.count()
        self.running: dict[Future[Result], Task] = {}
        first_input = job.plan.spec.inputs[0]
        first = job.chunks[first_input]
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

    def emit(self, event: Event) -> Event:
        self.journal.append(event)
        return event

    def run(self) -> Iterator[Event]:
        job = self.job
        total_chunks = sum(len(p.chunks) for p in job.chunks.values())
        first_input = job.inputs[job.plan.spec.inputs[0]]
        yield self.emit(
            JobStarted(
                t=0.0,
                job_id=job.job_id,
                job_dir=str(job.job_dir),
                pipeline=job.plan.spec.name,
                inputs={k: v.source for k, v in job.inputs.items()},
                outputs={k: str(v) for k, v in job.outputs.items()},
                chunks=total_chunks,
                tasks=len(job.plan.groups) * len(job.chunks[job.plan.spec.inputs[0]].chunks),
                workers=job.workers,
                executor=self.executor.NAME,
                duration=first_input.duration,
                frames=first_input.frame_count,
                groups=[g.name for g in job.plan.groups],
                preroll=sum(p.preroll_seconds for p in job.chunks.values()),
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
            yield self.emit(JobFailed(t=self.state.now(), job_id=job.job_id, error=str(exc)))
            raise
        finally:
            self.cancel_running()
            self._side.shutdown(wait=True)

    def route(self, endpoint_node: str, item: Item) -> Iterator[Event]:
        """Deliver ``item`` produced by ``endpoint_node`` to every group that reads it."""
        for group in self.job.plan.groups:
            for port, src in group.inputs:
                if src.node == endpoint_node:
                    for ready in self.delivery[group.name].offer(port, item):
                        yield self.queue_task(self.make_task(group, ready))

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
        )

    def queue_task(self, task: Task) -> Event:
        self.queue.append(task)
        return self.emit(
            TaskQueued(
                t=self.state.now(),
                task_id=task.task_id,
                group=task.group,
                chunk=task.chunk.index,
                attempt=task.attempt,
            )
        )

    def loop(self) -> Iterator[Event]:
        while self.queue or self.running or self.retry_heap:
            while self.retry_heap and self.retry_heap[0][0] <= time.monotonic():
                yield self.queue_task(heapq.heappop(self.retry_heap)[2])
            while self.queue and self.executor.can_submit():
                task = self.queue.popleft()
                self.running[self.executor.submit(task, self.storage.spec())] = task
                yield self.emit(
                    TaskStarted(
                        t=self.state.now(),
                        task_id=task.task_id,
                        group=task.group,
                        chunk=task.chunk.index,
                        attempt=task.attempt,
                    )
                )
            timeout = None
            if self.retry_heap:
                timeout = max(0.0, self.retry_heap[0][0] - time.monotonic())
            if not self.running:
                if timeout:
                    time.sleep(timeout)  # only retries are left: wait for the first one's time
                continue
            done, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                task = self.running.pop(future)
                exc = future.exception()
                if exc is None:
                    yield from self.finished(task, future.result())
                else:
                    yield from self.failed(task, exc)

    def finished(self, task: Task, result: Result) -> Iterator[Event]:
        self.state.finished_tasks += 1
        yield self.emit(
            TaskFinished(
                t=self.state.now(),
                task_id=task.task_id,
                group=task.group,
                chunk=task.chunk.index,
                attempt=task.attempt,
                frames=result.frames,
                worker=result.worker,
                read=result.timings.read,
                compute=result.timings.compute,
                write=result.timings.write,
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
            if self.state.first_segment is None:
                self.state.first_segment = self.state.now()
            start = entry.start_ticks / entry.timescale
            yield self.emit(
                SegmentReady(
                    t=self.state.now(),
                    output=output,
                    index=entry.index,
                    start=start,
                    duration=entry.duration,
                    playable_until=start + entry.duration,
                )
            )

    def failed(self, task: Task, exc: BaseException) -> Iterator[Event]:
        will_retry = task.attempt <= self.job.retries
        yield self.emit(
            TaskFailed(
                t=self.state.now(),
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
        heapq.heappush(self.retry_heap, (time.monotonic() + delay, next(self._tie), retry))

    def finish(self) -> Iterator[Event]:
        job = self.job
        source = job.inputs[job.plan.spec.inputs[0]]
        duration_out = 0.0
        for output, writer in self.streams.items():
            if not writer.complete:
                raise JobFailedError(f"{output}: {len(writer.published)} of {writer.total} segments")
            writer.finish()
            dest = job.outputs[output]
            if not dest.parent.is_dir():
                raise OutputError(f"{dest.parent}: the output folder no longer exists")
            assemble(self.storage, writer.folder, writer.published, source, dest, job.job_dir)
            duration_out += sum(e.duration for e in writer.published)
        if not job.keep_intermediate:
            for key in self.storage.list("work/"):
                self.storage.delete(key)
        first = next(iter(self.streams.values()))
        yield self.emit(
            JobFinished(
                t=self.state.now(),
                job_id=job.job_id,
                outputs={k: str(v) for k, v in job.outputs.items()},
                playlist=first.playlist_key,
                wall=self.state.now(),
                first_segment=self.state.first_segment or 0.0,
                duration_out=duration_out,
                frames_out=sum(w.frames for w in self.streams.values()),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            )
        )

    def cancel_running(self) -> None:
        for future in self.running:
            future.cancel()
