"""``sprocket plan``: what a job would take and cost, simulated before spending anything.

The simulator, the prober and the pipelines are imported when the command runs, not for its
help. Rich is not deferred: Typer's help has loaded its console and tables already.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.errors import OptionError, UsageError

# The --policy help names them; the module costs little once the shared options have loaded Task.
from sprocket_cli.plan.scheduling import POLICIES

if TYPE_CHECKING:
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.pipeline.pipespec import Pipespec
    from sprocket_cli.plan.estimate import Estimate
    from sprocket_cli.plan.fusion import PhysicalPlan

out = Console(highlight=False)


@boundary
def plan_cmd(
    source: Annotated[
        str | None,
        typer.Argument(help="The video to plan for (probed, and timed on one chunk); or give --duration."),
    ] = None,
    pipeline: Annotated[
        str, typer.Option("--pipeline", help="Built-in pipeline name or pipespec file.")
    ] = "filter",
    backend: Annotated[str, typer.Option("--backend", help="lambda, local or ray.")] = "lambda",
    ray_address: Annotated[
        str, typer.Option("--ray-address", help="With --backend ray: the cluster's head, HOST:PORT or auto.")
    ] = "auto",
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Concurrent workers.")] = 1000,
    memory: Annotated[int, typer.Option("--memory", min=128, max=10240, help="Lambda memory, MB.")] = 3008,
    chunk_seconds: opt.ChunkSeconds = 1.0,
    policy: Annotated[str, typer.Option("--policy", help=f"One of {', '.join(POLICIES)}.")] = "overall",
    deadline_start: opt.DeadlineStart = 5.0,
    vf: Annotated[
        str | None,
        typer.Option("--vf", help="The filter chain to plan for (with the filter pipeline): how it splits."),
    ] = None,
    codec: Annotated[
        str | None,
        typer.Option("--codec", help="The encoder to plan for (x264, x265, av1, vp9, prores, dnxhr, ...)."),
    ] = None,
    fps_per_core: Annotated[
        float | None,
        typer.Option("--fps-per-core", min=0.01, help="Skip the timing run: frames/s of one core."),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            help="Plan for a video you do not have here: its length (2h, 90m, 45s, 1:30:00); "
            "--size and --fps describe it, and the pipeline is timed on a generated clip.",
        ),
    ] = None,
    size: Annotated[str, typer.Option("--size", help="With --duration: WIDTHxHEIGHT.")] = "1920x1080",
    fps: Annotated[
        str, typer.Option("--fps", help="With --duration: frames per second (25, 30000/1001).")
    ] = "25",
    keyframe_seconds: Annotated[
        float,
        typer.Option("--keyframe-seconds", min=0.04, help="With --duration: seconds between keyframes."),
    ] = 2.0,
) -> None:
    """Estimate wall time, time to first segment, worker-seconds and dollars, before running.

    The pipeline is timed on the first chunk of SOURCE on one core of this machine, then the
    real coordinator runs the whole job on a simulated cloud (invocation latency, storage
    bandwidth, concurrency and rate limits, stragglers), next to this machine as the local
    backend.
    """
    import builtin_pipelines
    from sprocket_cli.executors.simulated import CloudModel, local_model
    from sprocket_cli.media.probe import probe
    from sprocket_cli.pipeline.pipespec import load_file
    from sprocket_cli.plan.estimate import simulate, synthetic_media
    from sprocket_cli.plan.pricing import PRICE_DATE, PRICE_PER_GB_SECOND

    if backend not in ("lambda", "local", "ray"):
        raise UsageError(f"--backend must be lambda, local or ray, not {backend!r}")
    if policy not in POLICIES:
        raise UsageError(f"--policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    path = Path(pipeline) if Path(pipeline).exists() else builtin_pipelines.path(pipeline)
    spec = load_file(path, {"filter": {"vf": vf}} if vf is not None else None)
    if codec is not None:
        spec = _with_codec(path, spec, vf, codec)
    if (source is None) == (duration is None):
        raise UsageError(
            "give a VIDEO to plan for, or --duration (with --size and --fps) for one you do not have"
        )
    if source is not None:
        media, title = probe(source), source
    else:
        assert duration is not None
        width, height = _size(size)
        media = synthetic_media(_seconds(duration), _rate(fps), keyframe_seconds, (width, height))
        title = f"a {size} {fps} fps video"
    if vf is not None:
        chunk_seconds = _explain_chain(vf, media, chunk_seconds)
    from sprocket_cli.plan.fusion import plan as physical_plan
    from sprocket_cli.stages.base import SERIALIZED_NOTICE

    physical = physical_plan(spec)
    for node in physical.serialized:  # estimated as the job runs them: one task
        out.print(f"note: {node}: {SERIALIZED_NOTICE}")
    from sprocket_cli.plan.facecost import plan_lines
    from sprocket_cli.stages.faces import FindFacesConfig

    for config in (n.config for n in spec.nodes if isinstance(n.config, FindFacesConfig)):
        for line in plan_lines((media.width, media.height), config.every):  # each detector's cost
            out.print(line, markup=False)
    _chunk_cost(physical, media, chunk_seconds)
    rate = fps_per_core or _calibrate(spec, media, keyframe_seconds)
    how = "given" if fps_per_core else "measured"
    fps_text = f"{how} {rate:.1f} frames/s per core" + ("" if fps_per_core else " here")
    cores = os.cpu_count() or 1
    deadline = deadline_start if policy == "streaming" else None
    rows: list[tuple[str, Estimate, bool]] = []
    if backend == "lambda":
        cloud = CloudModel(memory_mb=memory, fps_per_core=rate)
        rows.append((f"lambda {memory} MB", simulate(spec, media, cloud, workers=workers,
                     chunk_seconds=chunk_seconds, policy=policy, deadline_start=deadline), True))  # fmt: skip
    if backend == "ray":
        simulation = {"chunk_seconds": chunk_seconds, "policy": policy, "deadline_start": deadline}
        rows.append(_ray_row(ray_address, spec, media, keyframe_seconds, fps_per_core, workers, **simulation))
    local_workers = workers if backend == "local" else cores
    rows.append((f"local ({local_workers} workers)", simulate(spec, media, local_model(rate),
                 workers=local_workers, chunk_seconds=chunk_seconds, policy=policy,
                 deadline_start=deadline), False))  # fmt: skip

    out.print(
        f"{title}: {media.duration:.1f}s {media.width}x{media.height}, pipeline {spec.name}, "
        f"policy {policy}; {fps_text}"
    )
    table = Table(box=None, header_style="bold")
    for col in (
        "backend",
        "workers",
        "wall",
        "first segment",
        "p99 task",
        "worker-s",
        "peak",
        "misses",
        "cost",
    ):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for name, e, priced in rows:
        cost = f"${e.cost.dollars:.3f}" if priced else "-"
        table.add_row(
            name, str(e.workers), f"{e.wall:.1f}s", f"{e.first_segment:.1f}s", f"{e.p99_task_finish:.1f}s",
            f"{e.worker_seconds:.0f}", str(e.peak_workers), str(e.deadline_misses) if deadline else "-", cost,
        )  # fmt: skip
    out.print(table)
    if backend == "lambda":
        model = CloudModel(memory_mb=memory, fps_per_core=rate)
        params = ", ".join(f"{f.name}={getattr(model, f.name)}" for f in dataclasses.fields(model))
        out.print(f"[dim]model: {params}; price ${PRICE_PER_GB_SECOND['x86_64']}/GB-s ({PRICE_DATE})[/]")


def _ray_row(
    address: str,
    spec: Pipespec,
    media: MediaInfo,
    keyframe_seconds: float,
    rate: float | None,
    workers: int,
    **simulation: Any,
) -> tuple[str, Estimate, bool]:
    """The cluster at ``address`` simulated: its CPUs, and frames/s per core timed on a node
    (``rate`` when given)."""
    try:
        from sprocket_cli.backends.ray_plan import WORKER_START_S, cluster_facts, ray_model, staged_source
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        raise UsageError("planning for a Ray cluster needs Ray here: pip install 'sprocket[ray]'") from None
    from sprocket_cli.plan.estimate import simulate

    size = (media.width, media.height)
    cluster = cluster_facts(address, spec, size, media.fps, keyframe_seconds, rate)
    how = "given" if rate else "measured on a node"
    out.print(
        f"ray cluster at {address}: {cluster.nodes} nodes, {cluster.cpus} CPUs; "
        f"{how} {cluster.fps_per_core:.1f} frames/s per core"
    )
    model = ray_model(cluster.fps_per_core, cluster.cpus)
    staged = staged_source(media.source, model)
    if staged is not None:
        out.print(staged, markup=False)
    used = min(workers, cluster.cpus)
    estimate = simulate(spec, media, model, workers=used, init_s=WORKER_START_S, **simulation)
    return "ray", estimate, False


def _with_codec(path: Path, spec: Pipespec, vf: str | None, codec: str) -> Pipespec:
    """``spec`` read again from ``path`` with every video encode's encoder set to ``codec``."""
    from sprocket_cli.media.codecs import resolve
    from sprocket_cli.pipeline.pipespec import load_file
    from sprocket_cli.stages.encode import EncodeConfig

    resolve(codec)  # an unknown one fails as --codec, not as a pipespec's problem
    encodes = [n.name for n in spec.nodes if isinstance(n.config, EncodeConfig)]
    if not encodes:
        raise UsageError(f"--codec: pipeline {spec.name} encodes no video")
    overrides: dict[str, dict[str, Any]] = {name: {"codec": codec} for name in encodes}
    if vf is not None:
        overrides.setdefault("filter", {})["vf"] = vf
    return load_file(path, overrides)


def _chunk_cost(physical: PhysicalPlan, media: MediaInfo, chunk_seconds: float) -> None:
    """Say what the planned chunks cost the video encode in bytes (measured figures)."""
    from sprocket_cli.media.chunking import plan_chunks, whole_seconds
    from sprocket_cli.run.announce import chunk_cost

    # As the simulation plans them: a serialized stage runs the whole video as one chunk.
    seconds = whole_seconds(media) if physical.serialized else chunk_seconds
    cost = chunk_cost(physical, [(c.duration, c.frame_count) for c in plan_chunks(media, seconds).chunks])
    if cost is not None:
        out.print(f"chunking: {cost.line()}", markup=False)


def _explain_chain(vf: str, media: MediaInfo, chunk_seconds: float) -> float:
    """Say how ``vf`` splits and what its pre- and post-roll cost; the chunk length to plan with."""
    from sprocket_cli.media.chunking import plan_chunks, whole_seconds
    from sprocket_cli.plan.filtermodel import analyze

    chain = analyze(vf)
    if not chain.split:
        out.print(f"{vf}: {chain.reason}; planned as one chunk on one worker")
        return whole_seconds(media)
    roll = chain.preroll + chain.postroll
    if roll:
        chunks = plan_chunks(media, chunk_seconds, roll=(chain.preroll, chain.postroll)).chunks
        extra = sum(c.preroll for c in chunks) + chain.postroll * len(chunks) / float(media.fps)
        out.print(
            f"{vf}: windowed; each chunk also decodes {chain.preroll} frames before and "
            f"{chain.postroll} after its own: {extra:.1f}s of extra decode over "
            f"{len(chunks)} chunks ({100 * extra / media.duration:.1f} % of the video)"
        )
    return chunk_seconds


def _calibrate(spec: Pipespec, media: MediaInfo, keyframe_seconds: float) -> float:
    """Frames/s of one core for ``spec`` on ``media``, or, for a video that is not here, on a
    test clip of its size and rate made for the purpose."""
    from sprocket_cli.media.probe import probe
    from sprocket_cli.media.testclip import make_test_clip
    from sprocket_cli.plan.calibrate import frames_per_core_second

    if not media.source.startswith("simulated://"):
        return frames_per_core_second(spec, media)
    with tempfile.TemporaryDirectory(prefix="sprocket-plan-") as tmp:
        keyint = max(1, round(keyframe_seconds * float(media.fps)))
        clip = make_test_clip(
            Path(tmp) / "clip.mp4", seconds=2.0, size=f"{media.width}x{media.height}",
            fps=str(media.fps), keyint=keyint, audio=False,
        )  # fmt: skip
        return frames_per_core_second(spec, probe(str(clip)))


_LENGTH = re.compile(r"^(\d+(?:\.\d*)?)(h|m|s)$")


def _seconds(text: str) -> float:
    """``--duration`` in seconds: 2h, 90m, 45s, or ffmpeg's [[HH:]MM:]SS[.frac]."""
    from sprocket_cli.plan.cuts import microseconds

    m = _LENGTH.match(text.strip())
    if m is not None:
        value = float(m[1]) * {"h": 3600, "m": 60, "s": 1}[m[2]]
    else:
        try:
            value = microseconds(text) / 1e6
        except ValueError:
            value = 0.0
    if not value > 0:
        raise OptionError("duration", f"takes a length like 2h, 90m, 45s or 1:30:00, not {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if m is None or not int(m[1]) > 0 or not int(m[2]) > 0:
        raise OptionError("size", f"takes WIDTHxHEIGHT, like 1920x1080, not {text!r}")
    return int(m[1]), int(m[2])


def _rate(text: str) -> Fraction:
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        rate = Fraction(0)
    if not 0 < rate <= 1000:
        raise OptionError("fps", f"takes a frame rate like 25 or 30000/1001, not {text!r}")
    return rate
