"""Run a job on the simulated cloud: wall time, first segment, worker-seconds and dollars
before spending any (``sprocket plan``, ``bench/scale_sim.py``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sprocket_cli.backends import open_backend
from sprocket_cli.events import JobFinished, TaskFinished
from sprocket_cli.executors.simulated import CloudModel
from sprocket_cli.jobs.records import new_job_id
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.plan.fusion import plan
from sprocket_cli.plan.pricing import Cost, lambda_cost
from sprocket_cli.run import Job, run_job


def synthetic_media(
    seconds: float,
    fps: Fraction | int = 25,
    keyframe_seconds: float = 1.0,
    size: tuple[int, int] = (1920, 1080),
) -> MediaInfo:
    """A source that exists only as timestamps: for simulating videos nobody has on disk."""
    rate = Fraction(fps)
    time_base = Fraction(1, rate.numerator * 512)
    step = rate.denominator * 512
    frames = round(seconds * rate)
    keyint = max(1, round(keyframe_seconds * rate))
    pts = tuple(i * step for i in range(frames))
    return MediaInfo(
        source=f"simulated://{seconds:g}s@{rate}fps",
        width=size[0],
        height=size[1],
        codec="h264",
        pix_fmt="yuv420p",
        fps=rate,
        time_base=time_base,
        frame_pts=pts,
        keyframe_pts=pts[::keyint],
        end_pts=frames * step,
        rotation=0,
        audio=(),
    )


@dataclass(frozen=True)
class Estimate:
    workers: int
    policy: str
    wall: float
    """Seconds from start to the last segment."""
    first_segment: float
    p99_task_finish: float
    """Seconds from start until 99% of tasks had finished."""
    worker_seconds: float
    invocations: int
    peak_workers: int
    deadline_misses: int
    cost: Cost
    tasks: int


def simulate(
    spec: Pipespec,
    media: MediaInfo,
    model: CloudModel,
    *,
    workers: int,
    chunk_seconds: float = 1.0,
    policy: str = "overall",
    deadline_start: float | None = None,
    journal_dir: Path | None = None,
) -> Estimate:
    """Run ``spec`` over ``media`` on ``workers`` simulated workers of ``model``."""
    with tempfile.TemporaryDirectory(prefix="sprocket-sim-") as tmp:
        job_dir = journal_dir or Path(tmp)
        job = Job(
            job_id=new_job_id(),
            job_dir=job_dir,
            plan=plan(spec),
            inputs={"input_0": media},
            chunks={"input_0": plan_chunks(media, chunk_seconds)},
            outputs=dict.fromkeys(spec.outputs),
            workers=workers,
            policy=policy,
            deadline_start=deadline_start,
            retries=10,  # throttled invocations are retried, as the Lambda executor does
        )
        finished: list[float] = []
        last: JobFinished | None = None
        simulated = open_backend("simulated", {"model": model})
        for event in run_job(job, simulated.executor(workers), simulated.storage(job_dir, job.job_id)):
            if isinstance(event, TaskFinished):
                finished.append(event.t)
            elif isinstance(event, JobFinished):
                last = event
    assert last is not None
    p99 = sorted(finished)[max(0, int(len(finished) * 0.99) - 1)]
    return Estimate(
        workers=workers,
        policy=policy,
        wall=last.wall,
        first_segment=last.first_segment,
        p99_task_finish=p99,
        worker_seconds=last.worker_seconds,
        invocations=last.invocations,
        peak_workers=last.peak_workers,
        deadline_misses=last.deadline_misses,
        cost=lambda_cost(last.worker_seconds, last.invocations, model.memory_mb),
        tasks=len(finished),
    )
