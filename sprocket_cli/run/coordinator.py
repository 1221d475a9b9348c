"""The coordinator's event loop: items are routed to tasks as they arrive, and results back.

:func:`run_job` is a generator of :mod:`~sprocket_cli.events`; every event is also appended to
the job's journal. The caller (CLI, TUI, a test) renders them; closing the generator early
cancels the job. Time comes from the executor, so a simulated executor runs this same loop
on a virtual clock. The loop itself only routes and waits: tasks are made by
:class:`~sprocket_cli.run.taskmaker.TaskMaker`, queued, dispatched and retried by
:class:`~sprocket_cli.run.dispatcher.Dispatcher`, and published by
:class:`~sprocket_cli.run.publisher.Publisher`.
"""

from __future__ import annotations

import contextlib
import errno
import json
from collections.abc import Iterator

from sprocket_cli.errors import DiskFullError, JobCancelledError, JobFailedError
from sprocket_cli.events import (
    Event,
    JobCancelled,
    JobFailed,
    TaskFinished,
)
from sprocket_cli.executors.base import Executor
from sprocket_cli.jobs.control import POLL_INTERVAL, clear_requests
from sprocket_cli.jobs.journal import Journal
from sprocket_cli.jobs.leftovers import remove_temporaries
from sprocket_cli.pipeline.delivery import DeliveryFunction, Item
from sprocket_cli.pipeline.registry import delivery_class
from sprocket_cli.plan.scheduling import PlaybackClock, make_policy
from sprocket_cli.run.announce import job_finished, job_started
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.dispatcher import Dispatcher
from sprocket_cli.run.intake import StagedInputs
from sprocket_cli.run.job import Job
from sprocket_cli.run.publisher import Publisher
from sprocket_cli.run.steering import Steering
from sprocket_cli.run.stragglers.base import make_strategy
from sprocket_cli.run.taskmaker import TaskMaker, partner_task
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import CANCEL_KEY, WORK
from sprocket_cli.tasks import ChunkRef, Result, Task


def run_job(job: Job, executor: Executor, storage: Storage) -> Iterator[Event]:
    """Run ``job`` on ``executor``; yield each event as it happens."""
    with Journal(job.job_dir) as journal:
        runner = _Coordinator(RunContext(job, executor, storage, journal, executor.now()))
        yield from runner.run()


class _Coordinator:
    def __init__(self, run: RunContext) -> None:
        job = run.job
        self.run_ = run
        self.groups = {g.name: g for g in job.plan.groups}
        self.span_groups = {
            g.name for g in job.plan.groups if not delivery_class(g.delivery_function).PER_CHUNK
        }
        self.delivery: dict[str, DeliveryFunction] = {
            g.name: delivery_class(g.delivery_function)(g.ports) for g in job.plan.groups
        }
        clock = PlaybackClock(job.deadline_start) if job.deadline_start is not None else None
        order = {g.name: i for i, g in enumerate(job.plan.groups)}
        stragglers = make_strategy(job.stragglers, job.speculate_after)
        self.refs = {name: [ChunkRef.of(c) for c in p.chunks] for name, p in job.chunks.items()}
        self.dispatcher = Dispatcher(run, make_policy(job.policy, order, clock), stragglers)
        self.tasks = TaskMaker(run, stragglers, self.refs)
        self.publisher = Publisher(run, self.delivery, clock)
        self.steering = Steering(run, self.dispatcher)
        self.staged = StagedInputs(run, self.refs)

    def run(self) -> Iterator[Event]:
        run, job = self.run_, self.run_.job
        clear_requests(job.job_dir)
        run.storage.delete(CANCEL_KEY)  # an earlier run's, in storage the job folder is not (S3)
        yield run.emit(job_started(run, self.span_groups))
        ended = full_disk = False
        try:
            for name, chunk_plan in job.chunks.items():
                source = job.inputs[name].source
                if name in job.staged_inputs:
                    self.staged.stage(name)
                    continue
                for chunk in chunk_plan.chunks:
                    yield from self.route(name, Item("chunks", ChunkRef.of(chunk), source=source))
            yield from self.loop()
            yield from self.finish()
            ended = True
        except (JobFailedError, DiskFullError) as exc:
            # A task's full disk comes as the cause of the job's failure; the assembly's as is.
            full_disk = isinstance(exc, DiskFullError) or isinstance(exc.__cause__, DiskFullError)
            if full_disk:
                remove_temporaries(job.job_dir)  # room for the journal's last line
            yield from self.failed_anyway(str(exc))
            raise
        except OSError as exc:
            # The file system refused (full, read-only, gone): the job failed, it was not
            # interrupted. A full disk is named (a failed write names no file), and the job's
            # half-written temporaries go at once.
            where = exc.filename or job.job_dir
            if exc.errno != errno.ENOSPC:
                yield from self.failed_anyway(f"{where}: {exc.strerror or exc}")
                raise
            full_disk = True
            remove_temporaries(job.job_dir)
            full = DiskFullError(f"{where}: No space left on device")
            yield from self.failed_anyway(str(full))
            raise full from None
        except JobCancelledError:
            yield run.emit(JobCancelled(t=run.now(), job_id=job.job_id))
            raise
        finally:
            running = self.dispatcher.running
            for future in running:
                future.cancel()
            if not ended and running and not run.storage.exists(CANCEL_KEY):
                # Failed or interrupted: copies still running (on Lambda, say) stop on seeing this
                # instead of working, and billing, to the end. A resume removes it.
                with contextlib.suppress(OSError):  # a full disk: the failure is told already
                    run.storage.put_bytes(CANCEL_KEY, b"")
            self.staged.close()
            self.publisher.close()
            if full_disk:
                remove_temporaries(job.job_dir)  # those the audio thread left since

    def failed_anyway(self, error: str) -> Iterator[Event]:
        """The job failed: say so, in the journal too if it can still be written (the disk
        that is full may be the job folder's, and then the user still sees the event)."""
        run = self.run_
        event = JobFailed(t=run.now(), job_id=run.job.job_id, error=error)
        with contextlib.suppress(OSError):
            run.emit(event)
        yield event

    def route(self, endpoint_node: str, item: Item) -> Iterator[Event]:
        """Deliver ``item`` produced by ``endpoint_node`` to every group that reads it."""
        for group in self.run_.job.plan.groups:
            for port, src in group.inputs:
                if src.node == endpoint_node:
                    for ready in self.delivery[group.name].offer(port, item):
                        yield from self.add_task(self.tasks.make(group, ready))
        yield from self.publisher.cut_audio()

    def add_task(self, task: Task) -> Iterator[Event]:
        """Queue ``task``, or reuse its result from an earlier run of the job."""
        earlier = self.run_.job.completed.get(task.task_id)
        if earlier is None:
            yield self.dispatcher.queue_task(task)
        else:
            yield from self.finished(task, earlier, resumed=True)

    def loop(self) -> Iterator[Event]:
        executor, dispatcher = self.run_.executor, self.dispatcher
        staged = self.staged
        while dispatcher.busy or staged.pending:
            yield from self.steering.poll()
            yield from staged.take(None, self.route)
            yield from dispatcher.requeue_due()
            yield from dispatcher.dispatch()
            yield from dispatcher.speculate()
            yield from dispatcher.expire()
            timeout = dispatcher.wake_in()
            if self.steering.active:  # look at requests and progress this often at least
                timeout = POLL_INTERVAL if timeout is None else min(timeout, POLL_INTERVAL)
            if not dispatcher.running:
                if staged.pending:  # nothing to run until the next chunk is uploaded
                    yield from staged.take(timeout or POLL_INTERVAL, self.route)
                elif timeout:
                    executor.sleep(timeout)  # only held or retried tasks: wait for the first
                continue
            finished = executor.wait(dispatcher.running.keys(), timeout)
            yield from dispatcher.progress()
            for future in finished:
                running = dispatcher.release(future)
                if future.cancelled():
                    continue  # a copy stopped before it started: its twin delivered
                exc = future.exception()
                if exc is not None:
                    if future not in dispatcher.timed_out:  # a timed-out copy was counted already
                        yield from dispatcher.failed(running.task, exc, running.slot)
                    continue
                result = future.result()
                if result.superseded:
                    yield from dispatcher.superseded(running.task, result, running.slot)
                    continue
                seconds = executor.now() - running.dispatched
                dispatcher.policy.task_finished(running.task, seconds)
                dispatcher.stragglers.finished(running.task, seconds)
                yield from self.finished(running.task, result, slot=running.slot)
                partner = result.meta.get("partner")
                if partner is not None and running.task.partner is not None:
                    yield from self.finished(
                        partner_task(running.task), Result.from_json(json.dumps(partner)), slot=running.slot
                    )

    def finished(
        self, task: Task, result: Result, *, resumed: bool = False, slot: int | None = None
    ) -> Iterator[Event]:
        run = self.run_
        if not self.dispatcher.delivered(task):
            return
        t = result.timings
        if not resumed:
            run.accounts.worker_seconds += t.read + t.compute + t.write
            run.accounts.billed_seconds += result.meta.get("billed_ms", 0) / 1000
        yield run.emit(
            TaskFinished(
                **run.about(task),
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
        meta = result.output_type == "meta"
        item = Item(
            result.output_type,
            task.chunk,
            key=result.output_key,
            # Facts about a span of the source keep pointing at it, for the stages that read it.
            source=task.source if meta else None,
            meta=result.meta if meta else None,
        )
        for ep in group.outputs:
            if ep.is_output:
                yield from self.publisher.take(ep.node, task.chunk.index, result)
        yield from self.route(group.nodes[-1].name, item)

    def finish(self) -> Iterator[Event]:
        run = self.run_
        published = self.publisher.finish()
        if not run.job.keep_intermediate:
            run.storage.delete_all(f"{WORK}/")
        yield run.emit(job_finished(run, published))
