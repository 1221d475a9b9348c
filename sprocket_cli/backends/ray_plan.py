"""What ``sprocket plan --backend ray`` needs of a cluster: its CPUs, and how fast one of its
cores runs the pipeline, measured on a node (a node may be faster or slower than this machine).

The timing run makes its own clip of the video's size and rate on the node, so that the video
need not be where the node can read it. Ray comes with the Ray executor's module, which this one
imports: only ``sprocket plan --backend ray`` loads it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sprocket_cli.executors.ray_cluster import connect, disconnect, node_cpus, run_on_node
from sprocket_cli.executors.simulated import CloudModel
from sprocket_cli.inputs import is_url
from sprocket_cli.pipeline.pipespec import Pipespec

#: Seconds of clip the node times the pipeline on (as ``sprocket plan`` does here).
CALIBRATION_SECONDS = 2.0
#: Seconds a node may take to make the clip and time the pipeline on it.
CALIBRATION_TIMEOUT = 300.0


@dataclass(frozen=True)
class ClusterFacts:
    cpus: int
    """CPUs of the cluster's live nodes."""
    nodes: int
    """Live nodes with CPUs."""
    fps_per_core: float
    """Frames/s of the pipeline on one core of a node."""


def _node_rate(spec: Pipespec, size: str, fps: str, keyint: int) -> float:
    """On a node: frames/s of ``spec`` on one core, over a clip of ``size`` at ``fps``."""
    from sprocket_cli.media.probe import probe
    from sprocket_cli.media.testclip import make_test_clip
    from sprocket_cli.plan.calibrate import frames_per_core_second

    with tempfile.TemporaryDirectory(prefix="sprocket-plan-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        make_test_clip(clip, seconds=CALIBRATION_SECONDS, size=size, fps=fps, keyint=keyint, audio=False)
        return frames_per_core_second(spec, probe(str(clip)), CALIBRATION_SECONDS)


def cluster_facts(
    address: str,
    spec: Pipespec,
    size: tuple[int, int],
    fps: Fraction,
    keyframe_seconds: float,
    rate: float | None = None,
) -> ClusterFacts:
    """The cluster at ``address``'s CPUs and nodes, and ``spec`` timed on one core of a node, on
    a clip of ``size`` at ``fps`` with a keyframe every ``keyframe_seconds`` (or ``rate``, when
    the user gave it: no timing run)."""
    connect(address)
    try:
        nodes = node_cpus()
        if rate is None:
            keyint = max(1, round(keyframe_seconds * float(fps)))
            clip = (f"{size[0]}x{size[1]}", str(fps), keyint)
            rate = run_on_node(_node_rate, spec, *clip, timeout=CALIBRATION_TIMEOUT)
    finally:
        disconnect()
    return ClusterFacts(sum(nodes), len(nodes), rate)


#: Seconds before a new worker's first task: a job's Ray workers are new processes that load
#: the worker path (measured on the loopback cluster: about 2 s).
WORKER_START_S = 2.0


def ray_model(fps_per_core: float, cpus: int) -> CloudModel:
    """A Ray cluster as a simulated cloud: one CPU a task, as many at once as it has CPUs.

    The coordinator's serial part of a dispatch is a Ray task submission (an assumption: about
    a millisecond; bench/ray_backend.py measures the whole per-task overhead on a loopback
    cluster). Items in the object store on the coordinator's node, which the nodes reach over
    the network (an assumption for a LAN: 100 MB/s and a millisecond a request, as NFS would
    give for the job folder); no price, no stragglers modelled.
    """
    return CloudModel(
        name="ray",
        vcpus=1.0,
        warm_invoke_s=0.001,
        cold_invoke_s=0.001,
        storage_mb_s=100.0,
        storage_latency_s=0.001,
        fps_per_core=fps_per_core,
        straggler_probability=0.0,
        concurrency_limit=cpus,
        invoke_rate_limit=1e9,
    )


def staged_source(source: str, model: CloudModel) -> str | None:
    """What a job on the cluster does with ``source`` when it is a file only this machine has
    (the ray backend's default storage, the object store): what that holds and sends, and the
    time it takes at ``model``'s storage speed. None for a source the nodes read themselves
    (a URL, ``s3://``)."""
    if is_url(source) or source.startswith("s3://") or not os.path.isfile(source):
        return None
    mb = os.path.getsize(source) / 1e6
    seconds = mb / model.storage_mb_s
    return (
        f"{source} is on this machine only: its video (up to {mb:.1f} MB) is put once into the Ray "
        f"object store on this machine's node, and the nodes read their chunks from there "
        f"(about {seconds:.1f}s over the network at {model.storage_mb_s:g} MB/s)"
    )
