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
import json
import resource
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sprocket_cli.control import CANCEL_KEY, POLL_INTERVAL, ControlPoller, clear_requests
from sprocket_cli.delivery import DeliveryFunction, Item, Ready
from sprocket_cli.errors import JobCancelledError, JobFailedError, OutputError
from sprocket_cli.events import (
    ChunkStaged,
    Event,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobPaused,
    JobStarted,
    SegmentReady,
    TaskFailed,
    TaskFinished,
    TaskProgress,
    TaskQueued,
    TaskStarted,
    TaskSuperseded,
)
from sprocket_cli.executors.base import Executor
from sprocket_cli.journal import Journal
from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.chunking import ChunkPlan
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.output.assemble import assemble, write_report
from sprocket_cli.output.audio import AudioRendition, write_audio_rendition
from sprocket_cli.output.playlists import SegmentEntry
from sprocket_cli.output.stream import StreamWriter, stream_folder
from sprocket_cli.planner import Group, PhysicalPlan
from sprocket_cli.registry import delivery_class
from sprocket_cli.scheduling import PlaybackClock, Policy, make_policy
from sprocket_cli.staging import Stager
from sprocket_cli.storage import Storage
from sprocket_cli.stragglers import Stragglers
from sprocket_cli.tasks import ChunkRef, Fault, ItemType, LaneInput, Result, Task

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
    stragglers: str = "none"
    """Straggler mitigation: none, clone, speculative or gop-pair."""
    speculate_after: float = 2.0
    task_timeout: float | None = None
    """Seconds after which a task with no result counts as failed and is retried."""
    completed: Mapping[str, Result] = field(default_factory=dict)
    """Task id -> result kept from an earlier run of this job (``resume``)."""
    audio: AudioPlan | None = None
    """The output's audio; None: the first input's, as it is."""
    notices: tuple[str, ...] = ()
    """Lines for the user before work starts (a chain that runs on one worker, and why)."""
    staged_inputs: frozenset[str] = frozenset()
    """Inputs the workers cannot read where they are (local files, remote workers): cut and
    uploaded to storage first, each chunk's tasks starting once its upload is done."""


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
    billed_seconds: float = 0.0
    """Duration billed by the backend (Lambda), from the results."""


@dataclass
class _Running:
    task: Task
    dispatched: float
    """Executor clock time the task was submitted."""
    slot: int
    """Which worker slot the copy holds until it returns (what the TUI shows as a row)."""


class _Runner:
    def __init__(self, job: Job, executor: Executor, storage: Storage, journal: Journal) -> None:
        self.job = job
        self.executor = executor
        self.storage = storage
        self.journal = journal
        self.started = executor.now()
        self.accounts = _Accounts()
        self.groups = {g.name: g for g in job.plan.groups}
        self.span_groups = {
            g.name for g in job.plan.groups if not delivery_class(g.delivery_function).PER_CHUNK
        }
        self.delivery: dict[str, DeliveryFunction] = {
            g.name: delivery_class(g.delivery_function)(g.ports) for g in job.plan.groups
        }
        first_input = job.plan.spec.inputs[0]
        first = job.chunks[first_input]
        self.audio = job.audio or AudioPlan.choose("a", [job.inputs[first_input]])
        self.clock = PlaybackClock(job.deadline_start) if job.deadline_start is not None else None
        order = {g.name: i for i, g in enumerate(job.plan.groups)}
        self.policy: Policy = make_policy(job.policy, order, self.clock)
        self.queue: list[tuple[tuple[float, ...], int, Task]] = []
        self.retry_heap: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self.running: dict[Future[Result], _Running] = {}
        self.free_slots = list(range(job.workers))
        """Worker slots not held by a running copy, as a heap (the lowest is taken first)."""
        # People steer a job on the wall clock; a simulated one runs too fast to steer.
        self.control = ControlPoller(job.job_dir) if executor.REAL_TIME else None
        self.paused = False
        self.done: set[str] = set()
        """Ids of tasks whose result is in (the first copy to deliver)."""
        self.copies: dict[str, set[Future[Result]]] = {}
        """Task id -> futures of its copies in flight."""
        self.timed_out: set[Future[Result]] = set()
        """Copies given up on (``task_timeout``); they stop by themselves once a retry delivers."""
        self.stragglers = Stragglers(job.stragglers, job.speculate_after)
        self.refs = {name: [ChunkRef.of(c) for c in p.chunks] for name, p in job.chunks.items()}
        self.stagers: list[Stager] = []
        # The audio rendition is written on a thread while the first video chunks encode.
        self._side = ThreadPoolExecutor(1, thread_name_prefix="sprocket-audio")
        video = {s.dst.node for s in job.plan.spec.streams if s.dst.is_output and s.dst.type == "chunks"}
        self.reports: dict[str, dict[int, dict[str, Any]]] = {
            out: {} for out in job.outputs if out not in video
        }
        """Outputs that are facts, not video (a JSON report): index -> facts, as they come."""
        self.editors = [name for name, d in self.delivery.items() if d.EDITS]
        """Groups that cut spans out of the video (SceneKeep): the audio waits for their cuts."""
        self.streams = {
            out: StreamWriter(
                storage,
                out,
                len(first.chunks),
                first.max_duration,
                None if self.editors else self._audio_rendition(out),
            )
            for out in job.outputs
            if out in video
        }

    def _audio_rendition(self, output: str) -> Future[AudioRendition | None]:
        return self._side.submit(write_audio_rendition, self.audio, self.storage, stream_folder(output))

    def cut_audio(self) -> Iterator[Event]:
        """Once a SceneKeep group knows every span it keeps, cut the audio on the same spans
        and let out the segments held back for it."""
        if not self.editors or self.audio.keep is not None:
            return  # nothing cuts the video, or the audio is cut already
        spans = self.delivery[self.editors[0]].kept()
        if spans is None:
            return
        self.audio = replace(self.audio, keep=tuple(spans), parts=self.audio.parts if spans else ())
        for output, writer in self.streams.items():
            yield from self.announce(output, writer.start_audio(self._audio_rendition(output)))

    def now(self) -> float:
        """Seconds since the job started, on the executor's clock."""
        return self.executor.now() - self.started

    def about(self, task: Task) -> dict[str, Any]:
        """The fields every task event starts with."""
        return {"t": self.now(), "task_id": task.task_id, "group": task.group, "chunk": task.chunk.index}

    def emit(self, event: Event) -> Event:
        self.journal.append(event)
        return event

    def run(self) -> Iterator[Event]:
        job = self.job
        clear_requests(job.job_dir)
        self.storage.delete(CANCEL_KEY)  # an earlier run's, in storage the job folder is not (S3)
        first_input = job.inputs[job.plan.spec.inputs[0]]
        first_chunks = job.chunks[job.plan.spec.inputs[0]]
        chunk_count = len(first_chunks.chunks)
        yield self.emit(
            JobStarted(
                t=0.0,
                job_id=job.job_id,
                job_dir=str(job.job_dir),
                pipeline=job.plan.spec.name,
                inputs={k: v.source for k, v in job.inputs.items()},
                outputs={k: str(v) for k, v in job.outputs.items()},
                chunks=chunk_count,
                tasks=(len(job.plan.groups) - len(self.span_groups)) * chunk_count,
                workers=job.workers,
                executor=self.executor.NAME,
                duration=first_input.duration,
                frames=first_input.frame_count,
                groups=[g.name for g in job.plan.groups],
                preroll=sum(p.preroll_seconds for p in job.chunks.values()),
                policy=job.policy,
                started_at=time.time(),
                chunk_starts=[float((c.start_pts - c.origin_pts) * c.time_base) for c in first_chunks.chunks],
                memory_mb=self.executor.memory_mb(),
                arch=self.executor.arch(),
                span_groups=sorted(self.span_groups),
                notices=list(job.notices),
            )
        )
        ended = False
        try:
            for name, chunk_plan in job.chunks.items():
                source = job.inputs[name].source
                if name in job.staged_inputs:
                    self.stagers.append(Stager(name, source, chunk_plan, self.storage, "work/source"))
                    continue
                for chunk in chunk_plan.chunks:
                    item = Item("chunks", ChunkRef.of(chunk), source=source)
                    yield from self.route(name, item)
            yield from self.loop()
            yield from self.finish()
            ended = True
        except JobFailedError as exc:
            yield self.emit(JobFailed(t=self.now(), job_id=job.job_id, error=str(exc)))
            raise
        except JobCancelledError:
            yield self.emit(JobCancelled(t=self.now(), job_id=job.job_id))
            raise
        finally:
            for future in self.running:
                future.cancel()
            if not ended and self.running and not self.storage.exists(CANCEL_KEY):
                # Failed or interrupted: copies still running (on Lambda, say) stop on seeing this
                # instead of working, and billing, to the end. A resume removes it.
                self.storage.put_bytes(CANCEL_KEY, b"")
            for stager in self.stagers:
                stager.close()
            self._side.shutdown(wait=True)

    def route(self, endpoint_node: str, item: Item) -> Iterator[Event]:
        """Deliver ``item`` produced by ``endpoint_node`` to every group that reads it."""
        for group in self.job.plan.groups:
            for port, src in group.inputs:
                if src.node == endpoint_node:
                    for ready in self.delivery[group.name].offer(port, item):
                        yield from self.add_task(self.make_task(group, ready))
        yield from self.cut_audio()

    @staticmethod
    def output_key(group: Group, index: int) -> str:
        """Deterministic, so that retries and copies of a task write the same key."""
        outputs = [ep.node for ep in group.outputs if ep.is_output]
        if outputs and group.output_type == "chunks":
            return f"{stream_folder(outputs[0])}/seg_{index:05d}.m4s"
        ext = {"chunks": "m4s", "frames": "nut"}.get(group.output_type, "json")
        return f"work/{group.name}/c{index:05d}.{ext}"

    def make_task(self, group: Group, ready: Ready, attempt: int = 1) -> Task:
        # Video on a port is an input (lane) of the task's ffmpeg; facts are its context.
        items = [ready[port] for port in group.ports if ready[port].type != "meta"]
        facts = {port: ready[port].meta or {} for port in group.ports if ready[port].type == "meta"}
        items = items or [ready[port] for port in group.ports]  # a Python stage over a span
        chunk = items[0].chunk
        task = Task(
            job_id=self.job.job_id,
            task_id=f"{group.name}/c{chunk.index:05d}",
            group=group.name,
            chunk=chunk,
            stages=group.stage_calls,
            output_key=self.output_key(group, chunk.index),
            output_type=_item_type(group.output_type),
            source=items[0].source,
            input_key=items[0].key,
            threads=self.executor.threads_per_task(),
            attempt=attempt,
            fault=next((f for f in self.job.faults if f.chunk == chunk.index), None),
            more=tuple(LaneInput(item.chunk, item.source, item.key) for item in items[1:]),
            context=facts,
        )
        if task.more or task.context or group.inputs[0][1].node in self.job.staged_inputs:
            return task  # a gop-pair partner would need its own inputs, facts or chunk file
        refs = self.refs.get(group.inputs[0][1].node, [])
        partner = chunk.index ^ 1  # chunks 0+1, 2+3, ... are pairs
        return self.stragglers.pair(
            task,
            refs[partner] if partner < len(refs) else None,
            f"{group.name}/c{partner:05d}",
            self.output_key(group, partner),
        )

    def add_task(self, task: Task) -> Iterator[Event]:
        """Queue ``task``, or reuse its result from an earlier run of the job."""
        earlier = self.job.completed.get(task.task_id)
        if earlier is None:
            yield self.queue_task(task)
        else:
            yield from self.finished(task, earlier, resumed=True)

    def queue_task(self, task: Task, place: tuple[tuple[float, ...], int] | None = None) -> Event:
        """Queue ``task`` where the policy puts it, or at ``place`` (priority, sequence)."""
        if place is None:
            seq = next(self._seq)
            place = (self.policy.priority(task, seq), seq)
        heapq.heappush(self.queue, (*place, task))
        return self.emit(
            TaskQueued(
                **self.about(task),
                attempt=task.attempt,
            )
        )

    def steer(self) -> Iterator[Event]:
        """Act on the user's requests: cancel the job, pause or resume dispatching."""
        if self.control is None:
            return
        asked = self.control.poll(self.executor.now())
        if asked.cancel:
            if not self.storage.exists(CANCEL_KEY):
                self.storage.put_bytes(CANCEL_KEY, b"")  # running workers stop on seeing it
            raise JobCancelledError(
                f"{self.job.job_id}: cancelled; `sprocket resume {self.job.job_id}` picks it up again"
            )
        if asked.paused != self.paused:
            self.paused = asked.paused
            yield self.emit(JobPaused(t=self.now(), paused=self.paused))

    def dispatch(self) -> Iterator[Event]:
        """Submit ready tasks while workers are free and the policy releases them."""
        while self.queue and self.executor.can_submit() and not self.paused:
            task = self.queue[0][2]
            if task.task_id in self.done:
                heapq.heappop(self.queue)  # a copy no longer needed
                continue
            clock = self.executor.now()
            if self.policy.release_time(task, clock - self.started) > clock - self.started:
                return
            priority, seq, _ = heapq.heappop(self.queue)
            yield from self.submit(task)
            for clone in self.stragglers.clones(task):
                # Same place in the queue as the original: the next free worker takes it.
                yield self.queue_task(clone, (priority, seq))

    def submit(self, task: Task) -> Iterator[Event]:
        clock = self.executor.now()
        future = self.executor.submit(task, self.storage.spec())
        slot = heapq.heappop(self.free_slots) if self.free_slots else len(self.running)
        self.running[future] = _Running(task, clock, slot)
        self.copies.setdefault(task.task_id, set()).add(future)
        self.accounts.invocations += 1
        self.accounts.peak_workers = max(self.accounts.peak_workers, len(self.running))
        yield self.emit(
            TaskStarted(
                **self.about(task),
                attempt=task.attempt,
                copy=task.copy,
                slot=slot,
            )
        )

    def relay_progress(self) -> Iterator[Event]:
        """Workers' reports on copies still running, as events."""
        reports = self.executor.progress()
        if not reports:
            return
        by_copy = {(r.task.task_id, r.task.copy): r for r in self.running.values()}
        for p in reports:
            running = by_copy.get((p.task_id, p.copy))
            if running is None:
                continue  # it returned already; its result says more
            task = running.task
            yield self.emit(
                TaskProgress(
                    **self.about(task),
                    copy=task.copy,
                    slot=running.slot,
                    worker=p.worker,
                    phase=p.phase,
                    frames=p.frames,
                )
            )

    def speculate(self) -> Iterator[Event]:
        """Start backups of tasks running suspiciously long (``--stragglers speculative``)."""
        if not self.stragglers.speculative or self.paused:
            return
        pairs = [(r.task, r.dispatched) for r in self.running.values() if r.task.task_id not in self.done]
        for backup in self.stragglers.backups(pairs, self.executor.now()):
            if self.executor.can_submit():
                yield from self.submit(backup)
            else:
                # Ahead of everything: a straggler holds up the stream, new work does not.
                yield self.queue_task(backup, ((float("-inf"),), next(self._seq)))

    def expire(self) -> Iterator[Event]:
        """Count tasks past ``task_timeout`` as failed, so that they are retried."""
        limit = self.job.task_timeout
        if limit is None:
            return
        now = self.executor.now()
        for future, r in list(self.running.items()):
            if future not in self.timed_out and now - r.dispatched > limit:
                self.timed_out.add(future)
                yield from self.failed(
                    r.task, TimeoutError(f"no result after {limit:g}s"), r.slot, timed_out=True
                )

    def wake_in(self) -> float | None:
        """Seconds until a held task or a retry is due; None if nothing is waiting on time."""
        now = self.now()
        times = []
        if self.retry_heap:
            times.append(self.retry_heap[0][0] - self.started)
        if self.queue and self.executor.can_submit():
            times.append(self.policy.release_time(self.queue[0][2], now))
        if self.stragglers.speculative:
            pairs = [(r.task, r.dispatched) for r in self.running.values()]
            check = self.stragglers.next_check(pairs, self.executor.now())
            if check is not None:
                times.append(now + check)
        if self.job.task_timeout is not None:
            pending = [r.dispatched for f, r in self.running.items() if f not in self.timed_out]
            if pending:
                times.append(min(pending) + self.job.task_timeout - self.started)
        return max(0.0, min(times) - now) if times else None

    def staging(self) -> bool:
        return any(s.pending for s in self.stagers)

    def take_staged(self, timeout: float | None) -> Iterator[Event]:
        """Route the chunks uploaded since the last look (waiting up to ``timeout`` s for one)."""
        for stager in self.stagers:
            if not stager.pending:
                continue
            for staged in stager.take(timeout):
                yield self.emit(
                    ChunkStaged(
                        t=self.now(),
                        input=staged.input,
                        chunk=staged.chunk,
                        bytes=staged.bytes,
                        seconds=staged.seconds,
                    )
                )
                ref = self.refs[staged.input][staged.chunk].in_time_base(staged.time_base)
                yield from self.route(staged.input, Item("chunks", ref, source=staged.url))
            timeout = None  # waited on one stager already

    def loop(self) -> Iterator[Event]:
        while self.queue or self.running or self.retry_heap or self.staging():
            yield from self.steer()
            yield from self.take_staged(None)
            while self.retry_heap and self.retry_heap[0][0] <= self.executor.now():
                yield self.queue_task(heapq.heappop(self.retry_heap)[2])
            yield from self.dispatch()
            yield from self.speculate()
            yield from self.expire()
            timeout = self.wake_in()
            if self.control is not None:  # look at requests and progress this often at least
                timeout = POLL_INTERVAL if timeout is None else min(timeout, POLL_INTERVAL)
            if not self.running:
                if self.staging():  # nothing to run until the next chunk is uploaded
                    yield from self.take_staged(timeout or POLL_INTERVAL)
                elif timeout:
                    self.executor.sleep(timeout)  # only held or retried tasks: wait for the first
                continue
            finished = self.executor.wait(self.running.keys(), timeout)
            yield from self.relay_progress()
            for future in finished:
                running = self.running.pop(future)
                heapq.heappush(self.free_slots, running.slot)
                copies = self.copies[running.task.task_id]
                copies.discard(future)
                if not copies:
                    del self.copies[running.task.task_id]
                if future.cancelled():
                    continue  # a copy stopped before it started: its twin delivered
                exc = future.exception()
                if exc is not None:
                    if future not in self.timed_out:  # a timed-out copy was counted already
                        yield from self.failed(running.task, exc, running.slot)
                    continue
                result = future.result()
                if result.superseded:
                    yield from self.superseded(running.task, result, running.slot)
                    continue
                seconds = self.executor.now() - running.dispatched
                self.policy.task_finished(running.task, seconds)
                self.stragglers.finished(running.task, seconds)
                yield from self.finished(running.task, result, slot=running.slot)
                partner = result.meta.get("partner")
                if partner is not None and running.task.partner is not None:
                    yield from self.finished(
                        self.partner_task(running.task),
                        Result.from_json(json.dumps(partner)),
                        slot=running.slot,
                    )

    def partner_task(self, task: Task) -> Task:
        """The task of ``task``'s gop-pair partner, which ``task``'s worker also delivered."""
        assert task.partner is not None and task.partner_task_id and task.partner_output_key
        return dataclasses.replace(
            task,
            task_id=task.partner_task_id,
            chunk=task.partner,
            output_key=task.partner_output_key,
            partner=None,
            partner_task_id=None,
            partner_output_key=None,
        )

    def copies_in_flight(self, task_id: str) -> int:
        """Copies of ``task_id`` still expected to deliver (timed-out ones are not)."""
        return sum(1 for f in self.copies.get(task_id, ()) if f not in self.timed_out)

    def superseded(self, task: Task, result: Result, slot: int) -> Iterator[Event]:
        t = result.timings
        seconds = t.read + t.compute + t.write
        self.accounts.worker_seconds += seconds
        yield self.emit(
            TaskSuperseded(
                **self.about(task),
                copy=task.copy,
                worker=result.worker,
                seconds=seconds,
                slot=slot,
            )
        )
        if task.task_id not in self.done and not self.copies_in_flight(task.task_id):
            # Nobody else is delivering it: the output is left over from an attempt whose
            # result never arrived (a killed worker, a killed coordinator). Redo it.
            self.storage.delete(task.output_key)
            yield self.queue_task(dataclasses.replace(task, attempt=task.attempt + 1))

    def finished(
        self, task: Task, result: Result, *, resumed: bool = False, slot: int | None = None
    ) -> Iterator[Event]:
        if task.task_id in self.done:
            return
        self.done.add(task.task_id)
        for future in self.copies.get(task.task_id, ()):
            future.cancel()  # a copy not started yet; running ones stop by themselves
        t = result.timings
        if not resumed:
            self.accounts.worker_seconds += t.read + t.compute + t.write
            self.accounts.billed_seconds += result.meta.get("billed_ms", 0) / 1000
        yield self.emit(
            TaskFinished(
                **self.about(task),
                attempt=task.attempt,
                frames=result.frames,
                worker=result.worker,
                read=t.read,
                compute=t.compute,
                write=t.write,
                result=result.to_dict(),
                resumed=resumed,
                copy=task.copy,
                slot=slot,
            )
        )
        group = self.groups[task.group]
        item = Item(
            result.output_type,
            task.chunk,
            key=result.output_key,
            # Facts about a span of the source keep pointing at it, for the stages that read it.
            source=task.source if result.output_type == "meta" else None,
            meta=result.meta if result.output_type == "meta" else None,
        )
        for ep in group.outputs:
            if ep.node in self.reports:
                self.reports[ep.node][task.chunk.index] = result.meta
            elif ep.is_output:
                yield from self.publish(ep.node, result)
        yield from self.route(group.nodes[-1].name, item)

    def publish(self, output: str, result: Result) -> Iterator[Event]:
        yield from self.announce(output, self.streams[output].add(result))

    def announce(self, output: str, entries: list[SegmentEntry]) -> Iterator[Event]:
        """``entries`` became playable: start the playback clock, count late ones, tell."""
        for entry in entries:
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

    def failed(
        self, task: Task, exc: BaseException, slot: int, *, timed_out: bool = False
    ) -> Iterator[Event]:
        spare = task.task_id in self.done or self.copies_in_flight(task.task_id) > 0
        # A failure that will repeat (the filters leave no frame) is not worth another attempt.
        repeats = getattr(exc, "retry", True) is False
        will_retry = task.attempt <= self.job.retries and not spare and not repeats
        yield self.emit(
            TaskFailed(
                **self.about(task),
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
            raise JobFailedError(f"chunk {task.chunk.index} failed in {task.group}{attempts}: {exc}")
        delay = RETRY_BACKOFF * 2 ** (task.attempt - 1)
        retry = Task(**{**task.__dict__, "attempt": task.attempt + 1})
        heapq.heappush(self.retry_heap, (self.executor.now() + delay, next(self._seq), retry))

    def finish(self) -> Iterator[Event]:
        job = self.job
        duration_out = 0.0
        for output, writer in self.streams.items():
            if not writer.complete:
                raise JobFailedError(f"{output}: {len(writer.published)} of {writer.total} segments")
            writer.finish()
            duration_out += sum(e.duration for e in writer.published)
            dest = job.outputs[output]
            if dest is None or not writer.published:
                continue  # no file asked for, or nothing kept (SceneKeep found no scene)
            if not dest.parent.is_dir():
                raise OutputError(f"{dest.parent}: the output folder no longer exists")
            assemble(self.storage, writer.folder, writer.published, self.audio, dest, job.job_dir)
        for output, facts in self.reports.items():
            dest = job.outputs[output]
            if dest is not None:
                write_report(dest, [facts[i] for i in sorted(facts)])
        if not job.keep_intermediate:
            for key in self.storage.list("work/"):
                self.storage.delete(key)
        first = next(iter(self.streams.values()), None)
        a = self.accounts
        yield self.emit(
            JobFinished(
                t=self.now(),
                job_id=job.job_id,
                outputs={k: str(v) for k, v in job.outputs.items()},
                playlist=first.playlist_key if first is not None else "",
                wall=self.now(),
                first_segment=a.first_segment or 0.0,
                duration_out=duration_out,
                frames_out=sum(w.frames for w in self.streams.values()),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                worker_seconds=a.worker_seconds,
                invocations=a.invocations,
                peak_workers=a.peak_workers,
                deadline_misses=a.deadline_misses,
                billed_seconds=a.billed_seconds,
            )
        )


def _item_type(port_type: str) -> ItemType:
    """What a group's output is, from its last node's output port type."""
    if port_type == "chunks":
        return "chunks"
    return "frames" if port_type == "frames" else "meta"
