"""Run a job on the simulated cloud: wall time, first segment, worker-seconds and dollars
before spending any (``sprocket plan``, ``bench/scale_sim.py``).

A cold Lambda worker imports the bundle before its first task (:data:`LAMBDA_INIT_S`). The
simulated cloud's invocation times are the coordinator's side only, so the estimate runs it
with the import added to each cold worker's first task: that task, and so the worker's later
ones, end that much later (which also decides when a worker is free for reuse), and the
import is billed (AWS bills the INIT phase of on-demand functions since August 2025).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sprocket_cli.backends import open_backend
from sprocket_cli.events import JobFinished, TaskFinished
from sprocket_cli.executors.simulated import CloudModel, SimulatedExecutor
from sprocket_cli.jobs.records import new_job_id
from sprocket_cli.media.chunking import plan_chunks, whole_seconds
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.plan.fusion import plan
from sprocket_cli.plan.pricing import Cost, lambda_cost
from sprocket_cli.run import Job, run_job
from sprocket_cli.tasks import Task

#: Seconds a cold Lambda worker spends importing the bundle (``lambda_bundle.handler`` and the
#: worker path under it: pydantic, the stages, boto3's S3) before its first task. Measured from
#: the built x86_64 bundle, unpacked and imported as the runtime does (``python -I -S`` with
#: the bundle folder first on ``sys.path``), 7 runs: 0.52-0.62 s of CPU, median 0.56 s; rounded
#: up to 0.6 s for the runtime's own start, which that leaves out. (Wall time was 0.75-1.14 s
#: with this shared 2-core machine loaded; aws/deploy.py's timeout note allows 1-2 s.)
LAMBDA_INIT_S = 0.6


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
    containers: int = 0
    """Workers started cold (each imported the bundle once)."""
    init_s: float = 0.0
    """Seconds each cold worker spent importing before its first task (in every figure above)."""


class ColdInitExecutor(SimulatedExecutor):
    """The simulated cloud, with ``init_s`` of importing before a new worker's first task."""

    def __init__(self, workers: int, model: CloudModel, init_s: float) -> None:
        super().__init__(workers, model)
        self.init_s = init_s
        self._started = 0

    def _durations(self, task: Task) -> tuple[float, float, float]:
        read, compute, write = super()._durations(task)
        if self.containers > self._started:  # this task made a new worker: it imports first
            self._started = self.containers
            read += self.init_s  # before the read, on the worker's clock and bill
        return read, compute, write


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
    init_s: float | None = None,
) -> Estimate:
    """Run ``spec`` over ``media`` on ``workers`` simulated workers of ``model``.

    ``init_s``: what a cold worker spends before its first task beyond the model's invocation
    time; default :data:`LAMBDA_INIT_S` for a Lambda model, 0 for this machine as a "cloud"
    (whose cold invocation already includes a worker's start and imports).
    """
    if init_s is None:
        init_s = LAMBDA_INIT_S if model.name == "lambda" else 0.0
    physical = plan(spec)
    if physical.serialized:  # as the job will run: one task over the whole video
        chunk_seconds = whole_seconds(media)
    with tempfile.TemporaryDirectory(prefix="sprocket-sim-") as tmp:
        job_dir = journal_dir or Path(tmp)
        job = Job(
            job_id=new_job_id(),
            job_dir=job_dir,
            plan=physical,
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
        executor = ColdInitExecutor(workers, model, init_s)
        for event in run_job(job, executor, simulated.storage(job_dir, job.job_id)):
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
        containers=executor.containers,
        init_s=init_s,
    )
