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

import json
from collections.abc import Iterator

from sprocket_cli.errors import JobCancelledError
from sprocket_cli.events import Event, JobCancelled
from sprocket_cli.executors.base import Executor
from sprocket_cli.jobs.control import POLL_INTERVAL
from sprocket_cli.jobs.journal import Journal
from sprocket_cli.jobs.leftovers import remove_temporaries
from sprocket_cli.pipeline.delivery import DeliveryFunction, Item
from sprocket_cli.pipeline.registry import delivery_class
from sprocket_cli.plan.scheduling import PlaybackClock, make_policy
from sprocket_cli.run.announce import job_finished, job_started, task_finished
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.dispatcher import Dispatcher
from sprocket_cli.run.failure import FAILURES, failure_of, job_failed
from sprocket_cli.run.intake import StagedInputs
from sprocket_cli.run.job import Job
from sprocket_cli.run.publisher import Publisher
from sprocket_cli.run.steering import Steering
from sprocket_cli.run.stragglers.base import make_strategy
from sprocket_cli.run.taskmaker import TaskMaker, partner_task
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import WORK
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
        self.steering.begin()
        yield run.emit(job_started(run))
        ended = full_disk = False
        try:
            yield from self.start()
            yield from self.loop()
            yield from self.finish()
            ended = True
        except FAILURES as exc:
            failure = failure_of(exc, job.job_dir)
            full_disk = failure.full_disk
            if full_disk:
                remove_temporaries(job.job_dir)  # room for the journal's last line
            yield job_failed(run, failure.message)
            if failure.raise_instead is not None:
                raise failure.raise_instead from None
            raise
        except JobCancelledError:
            yield run.emit(JobCancelled(t=run.now(), job_id=job.job_id))
            raise
        finally:
            self.stop(ended, full_disk)

    def start(self) -> Iterator[Event]:
        """Route every input's chunks, or start uploading those the workers cannot read."""
        job = self.run_.job
        for name, chunk_plan in job.chunks.items():
            if name in job.staged_inputs:
                self.staged.stage(name)
                continue
            for chunk in chunk_plan.chunks:
                yield from self.route(
                    name, Item("chunks", ChunkRef.of(chunk), source=job.inputs[name].source)
                )

    def stop(self, ended: bool, full_disk: bool) -> None:
        """Stop what still runs, wait for the side threads, and clear up after a full disk."""
        self.steering.stop(ended)
        self.staged.close()
        self.publisher.close()
        if full_disk:
            remove_temporaries(self.run_.job.job_dir)  # those the audio thread left since

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
        yield run.emit(task_finished(run, task, result, resumed, slot))
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
