"""What a job says of itself at its start, as each task finishes, and at its end: the
JobStarted, TaskFinished and JobFinished events, from the plan, the accounts and the ledger."""

from __future__ import annotations

import resource
from collections.abc import Sequence

from sprocket_cli.events import JobFinished, JobStarted, TaskFinished
from sprocket_cli.media.chunkcost import ChunkCost, estimate
from sprocket_cli.media.codecs import resolve
from sprocket_cli.plan.fusion import Group, PhysicalPlan
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.ledger import node_of
from sprocket_cli.run.publisher import Published
from sprocket_cli.stages.encode import EncodeConfig
from sprocket_cli.tasks import Result, Task
from sprocket_cli.worker import cpu_seconds


def job_started(run: RunContext) -> JobStarted:
    """The job as planned: its chunks, tasks, workers and what the user must know first."""
    job = run.job
    span_groups = job.plan.span_groups
    first = job.plan.spec.inputs[0]
    first_input, first_chunks = job.inputs[first], job.chunks[first].chunks
    cost = chunk_cost(job.plan, [(c.duration, c.frame_count) for c in first_chunks])
    return JobStarted(
        t=0.0,
        job_id=job.job_id,
        job_dir=str(job.job_dir),
        pipeline=job.plan.spec.name,
        inputs={k: job.named_inputs.get(k, v.source) for k, v in job.inputs.items()},
        outputs={k: str(v) for k, v in job.outputs.items()},
        chunks=len(first_chunks),
        tasks=(len(job.plan.groups) - len(span_groups)) * len(first_chunks),
        workers=job.workers,
        executor=run.executor.NAME,
        duration=first_input.duration,
        frames=first_input.frame_count,
        groups=[g.name for g in job.plan.groups],
        preroll=sum(p.preroll_seconds for p in job.chunks.values()),
        policy=job.policy,
        started_at=run.started_at,
        chunk_starts=[float((c.start_pts - c.origin_pts) * c.time_base) for c in first_chunks],
        memory_mb=run.executor.memory_mb(),
        arch=run.executor.arch(),
        span_groups=sorted(span_groups),
        notices=list(job.notices),
        serialized=list(job.plan.serialized_groups),
        chunk_cost=None if cost is None else cost.to_dict(),
        target_vmaf=next((c.target_vmaf for c in _encodes(job.plan.groups)), None),
    )


def chunk_cost(plan: PhysicalPlan, spans: Sequence[tuple[float, int]]) -> ChunkCost | None:
    """What cutting into chunks of ``spans`` (seconds, frames) costs ``plan``'s video encode
    in bytes; None when no encode runs once per chunk (none at all, or one per scene)."""
    per_chunk = [g for g in plan.groups if g.name not in plan.span_groups]
    config = next(iter(_encodes(per_chunk)), None)
    if config is None or not spans:
        return None
    encoder = resolve(config.codec)
    return estimate(encoder.name, encoder.codec, spans)


def _encodes(groups: Sequence[Group]) -> list[EncodeConfig]:
    """The video encodes of ``groups``, in order."""
    return [n.config for g in groups for n in g.nodes if isinstance(n.config, EncodeConfig)]


def task_finished(
    run: RunContext, task: Task, result: Result, resumed: bool, slot: int | None
) -> TaskFinished:
    """``task`` delivered ``result`` (kept from an earlier run when ``resumed``): book its
    worker time, unless an earlier run paid it, and say so."""
    t = result.timings
    if not resumed:
        worked = t.read + t.compute + t.write
        run.accounts.worker_seconds += worked
        run.ledger.worked(result, worked)
        run.accounts.billed_seconds += result.meta.get("billed_ms", 0) / 1000
    return TaskFinished(
        **run.about(task),
        attempt=task.attempt,
        frames=result.frames,
        worker=result.worker,
        node=node_of(result.worker),
        read=t.read,
        compute=t.compute,
        write=t.write,
        result=result.to_dict(),
        resumed=resumed,
        copy=task.copy,
        slot=slot,
    )


def job_finished(run: RunContext, published: Published) -> JobFinished:
    """The job as it went: its outputs, its times and costs, and where the time went."""
    job, a, wall = run.job, run.accounts, run.now()
    breakdown = run.ledger.breakdown(
        wall,
        cores=run.executor.cores(),
        probe=job.probe_seconds,
        plan=job.plan_seconds,
        coordinator_cpu=cpu_seconds() - run.cpu_at_start,
    )
    return JobFinished(
        t=wall,
        job_id=job.job_id,
        outputs={k: str(v) for k, v in job.outputs.items()},
        playlist=published.playlist,
        wall=wall,
        first_segment=a.first_segment or 0.0,
        duration_out=published.duration,
        frames_out=published.frames,
        tracks=published.tracks,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        worker_seconds=a.worker_seconds,
        invocations=a.invocations,
        peak_workers=a.peak_workers,
        deadline_misses=a.deadline_misses,
        billed_seconds=a.billed_seconds,
        breakdown=breakdown,
        nodes=dict(run.ledger.nodes),
    )
