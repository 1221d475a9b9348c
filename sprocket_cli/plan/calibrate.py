"""Measure how fast a pipeline runs on one core of this machine, on the user's own input.

The simulated cloud scales this figure by a worker's vCPU share, so ``sprocket plan``'s
estimates rest on a measurement of the same pipeline and the same video, not on a guess.
"""

from __future__ import annotations

import tempfile

from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.plan.fusion import plan, stage_calls
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import ChunkRef, Task
from sprocket_cli.worker import run_task


def frames_per_core_second(spec: Pipespec, media: MediaInfo, seconds: float = 2.0) -> float:
    """Frames per second of the whole pipeline, fused, single-threaded, on ``media``'s start."""
    chunk = plan_chunks(media, seconds).chunks[0]
    nodes = [n for g in plan(spec).groups for n in g.nodes]
    task = Task(
        job_id="calibration",
        task_id="calibration",
        group="+".join(n.name for n in nodes),
        chunk=ChunkRef.of(chunk),
        stages=stage_calls(nodes),
        output_key="calibration/seg.m4s",
        output_type="chunks",
        source=media.source,
        threads=1,
    )
    with tempfile.TemporaryDirectory(prefix="sprocket-calibrate-") as tmp:
        result = run_task(task, LocalStorage(tmp))
    return chunk.frame_count / max(result.timings.compute, 1e-6)
