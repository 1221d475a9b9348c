"""Benchmark: the real coordinator at 100- to 1000-way scale, on the simulated cloud.

Runs ``sprocket_cli.plan.estimate.simulate`` (the real coordinator, scheduling policies, events and
journal, with :class:`~sprocket_cli.executors.simulated.SimulatedExecutor` standing in for
Lambda and S3 on a virtual clock) with the default :class:`CloudModel`, over a synthetic
1080p25 source cut into 1 s chunks, and prints:

- Table 1: a one-hour grayscale job (the built-in ``filter`` pipeline, ``hue=s=0``) at 100,
  200, 500 and 1000 workers, fused (decode+filter+encode in one task per chunk) and unfused
  (the same pipespec with ``"fuse": false`` on every node: three tasks per chunk, frames
  exchanged through storage as lossless intermediates, as in the paper), beside the paper's
  anchor and this project's targets;
- every parameter of the simulated cloud, the stage costs and the price table used;
- Table 2: the three scheduling policies at 1000 workers, fused and unfused;
- Table 3: the coordinator's own overhead on a 10,000-task job: CPU per task (process_time
  around simulate()), and memory in a fresh interpreter (``python -c``).

Nothing here is measured on a cloud: every time and dollar is the simulator's, from the
parameters printed beside Table 1. Full run (well under 3 minutes on 2 cores)::

    python bench/scale_sim.py

Quick smoke run (a 10-minute video, 100 and 1000 workers)::

    python bench/scale_sim.py --quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchkit import nproc, print_table
from sim_child import ChildResult, run_child
from sim_report import heading, print_model, yes

from builtin_pipelines import load, path
from sprocket_cli.executors.simulated import (
    CloudModel,
)
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec, parse
from sprocket_cli.plan.estimate import Estimate, simulate, synthetic_media
from sprocket_cli.plan.fusion import plan

PIPELINE = "filter"
CHUNK_SECONDS = 1.0
VIDEO_SECONDS = 3600.0
QUICK_VIDEO_SECONDS = 600.0
WORKERS = (100, 200, 500, 1000)
QUICK_WORKERS = (100, 1000)
POLICIES = ("overall", "first-frame", "streaming")
POLICY_WORKERS = 1000
DEADLINE_START = 5.0
OVERHEAD_TASKS = 10_000
OVERHEAD_WORKERS = 1000

PAPER_ANCHOR = "tens of seconds and < $3 per hour of 1080p at 1000-way"
TARGET_WORKERS = 1000
TARGET_WALL_S = 30.0
TARGET_DOLLARS_PER_VIDEO_HOUR = 0.50
TARGET_MS_PER_TASK = 1.0


@dataclass(frozen=True)
class Mode:
    name: str
    """fused / unfused."""
    spec: Pipespec

    @property
    def groups(self) -> list[str]:
        return [g.name for g in plan(self.spec).groups]


# ----------------------------------------------------------------------------------- setup


def unfused_spec() -> Pipespec:
    """The built-in filter pipespec with ``"fuse": false`` on every node."""
    p = path(PIPELINE)
    raw = json.loads(p.read_text(encoding="utf-8"))
    raw["name"] = f"{PIPELINE}-unfused"
    for node in raw["nodes"]:
        node["fuse"] = False
    return parse(json.dumps(raw), source=f"{p} (unfused)", name=f"{PIPELINE}-unfused")


def modes() -> list[Mode]:
    return [Mode("fused", load(PIPELINE)), Mode("unfused", unfused_spec())]


# ---------------------------------------------------------------------------------- runs


def run(
    mode: Mode,
    media: MediaInfo,
    model: CloudModel,
    workers: int,
    policy: str = "overall",
    deadline_start: float | None = None,
) -> Estimate:
    est = simulate(
        mode.spec,
        media,
        model,
        workers=workers,
        chunk_seconds=CHUNK_SECONDS,
        policy=policy,
        deadline_start=deadline_start,
    )
    expected = len(plan_chunks(media, CHUNK_SECONDS).chunks) * len(mode.groups)
    if est.tasks != expected or est.invocations != est.tasks:
        print(
            f"WARNING: {mode.name} {workers} workers {policy}: {est.tasks} tasks finished, "
            f"{est.invocations} invocations, {expected} tasks expected"
        )
    return est


def scale_table(modes_: Sequence[Mode], media: MediaInfo, model: CloudModel, workers: Sequence[int]) -> None:
    hours = media.duration / 3600
    title = f"{media.duration / 60:g}-minute" if media.duration < 3600 else f"{hours:g}-hour"
    heading(f"Table 1: {title} 1080p25 grayscale job (policy overall, {CHUNK_SECONDS:g} s chunks)")
    for m in modes_:
        tasks = " | ".join(m.groups)
        print(f"{m.name:<8} pipespec {m.spec.name!r}: {len(m.groups)} task(s) per chunk: {tasks}")
    print()
    results: dict[tuple[str, int], Estimate] = {}
    rows: list[list[str]] = []
    for w in workers:
        for m in modes_:
            est = run(m, media, model, w)
            results[(m.name, w)] = est
            rows.append(
                [
                    str(w),
                    m.name,
                    str(est.tasks),
                    f"{est.wall:.2f}",
                    f"{est.first_segment:.2f}",
                    f"{est.p99_task_finish:.2f}",
                    f"{est.worker_seconds:.0f}",
                    str(est.invocations),
                    f"{est.cost.dollars:.4f}",
                    f"{est.cost.dollars / hours:.4f}",
                ]
            )
    header = ["workers", "mode", "tasks", "wall s", "1st seg s", "p99 task s", "worker-s", "invocations"]
    print_table(rows, [*header, "$", "$/video-h"], left=2)
    print("(wall = completion time; 1st seg = time to first playable segment; p99 task = when 99% of")
    print(" tasks had finished; worker-s = billed read+compute+write seconds, summed over tasks)")

    print()
    print(f"paper anchor (Sprocket, SoCC'18): {PAPER_ANCHOR}")
    for m in modes_:
        at_target = results.get((m.name, TARGET_WORKERS))
        if at_target is not None:
            print(
                f"  simulated {m.name:<7} at {TARGET_WORKERS}-way: {at_target.wall:.1f} s, "
                f"${at_target.cost.dollars / hours:.3f} per video hour"
            )
    fused = results.get(("fused", TARGET_WORKERS))
    if fused is None:
        return
    print()
    print(f"targets: fused at {TARGET_WORKERS} workers, for a 1-hour video")
    target_rows = [
        [
            "completion time",
            f"{fused.wall:.2f} s",
            f"<= {TARGET_WALL_S:g} s",
            yes(fused.wall <= TARGET_WALL_S),
        ],
        [
            "dollars per video hour",
            f"${fused.cost.dollars / hours:.4f}",
            f"<= ${TARGET_DOLLARS_PER_VIDEO_HOUR:.2f}",
            yes(fused.cost.dollars / hours <= TARGET_DOLLARS_PER_VIDEO_HOUR),
        ],
    ]
    print_table(target_rows, ["metric", "measured", "target", "met"])
    if media.duration < 3600:
        print(
            f"(--quick: the video is {media.duration / 60:g} min, so the wall-time check is indicative only)"
        )


def policy_table(modes_: Sequence[Mode], media: MediaInfo, model: CloudModel, deadline_start: float) -> None:
    heading(f"Table 2: policies at {POLICY_WORKERS} workers, fused and unfused")
    print(
        f"deadline_start = {deadline_start:g} s for every policy (playback starts that long after the "
        "first segment;\nonly streaming schedules by it, but misses are counted for all three)"
    )
    print()
    rows: list[list[str]] = []
    for m in modes_:
        for policy in POLICIES:
            est = run(m, media, model, POLICY_WORKERS, policy, deadline_start)
            rows.append(
                [
                    policy,
                    m.name,
                    f"{est.wall:.2f}",
                    f"{est.first_segment:.2f}",
                    f"{100 * est.first_segment / est.wall:.1f}%",
                    str(est.peak_workers),
                    f"{est.worker_seconds:.0f}",
                    f"{est.cost.dollars:.4f}",
                    str(est.deadline_misses),
                ]
            )
    header = ["policy", "mode", "wall s", "1st seg s", "1st/wall", "peak workers", "worker-s", "$"]
    print_table(rows, [*header, "deadline misses"], left=2)
    print("(streaming paces the work to playback, so its wall time follows the video's length by design)")


def overhead_table(model: CloudModel, tasks: int, child: ChildResult) -> None:
    heading("Table 3: coordinator overhead")
    mode = Mode("fused", load(PIPELINE))
    media = synthetic_media(tasks * CHUNK_SECONDS)
    print(
        f"{tasks:,}-chunk source, {CHUNK_SECONDS:g} s chunks, fused ({tasks:,} tasks), "
        f"{OVERHEAD_WORKERS} workers, policy overall"
    )
    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    est = run(mode, media, model, OVERHEAD_WORKERS)
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    ms_in = 1000 * cpu / est.tasks
    ms_child = 1000 * child.cpu_s / child.tasks
    target = f"< {TARGET_MS_PER_TASK:g} ms"
    print()
    rows = [
        ["tasks simulated (this process / child)", f"{est.tasks:,} / {child.tasks:,}", "-", "-"],
        ["simulated wall of this job", f"{est.wall:.2f} s", "-", "-"],
        ["CPU around simulate(), this process", f"{cpu:.2f} s", "-", "-"],
        ["elapsed around simulate(), this process", f"{wall:.2f} s", "-", "-"],
        ["CPU per task, this process", f"{ms_in:.3f} ms", target, yes(ms_in < TARGET_MS_PER_TASK)],
        ["CPU per task, fresh interpreter", f"{ms_child:.3f} ms", target, yes(ms_child < TARGET_MS_PER_TASK)],
    ]
    print_table(rows, ["metric", "measured", "target", "met"])
    print("(CPU is everything simulate() does: the coordinator loop, policy, events, the journal written")
    print(" to a temporary folder, playlists, and the simulated executor's own bookkeeping: an upper")
    print(" bound on the coordinator's share)")
    print()
    print("memory of a fresh `python -c` child running only this job, MiB (started first, when this")
    print(f"process's ru_maxrss was {child.parent_maxrss:.1f} MiB)")
    b, i, p = child.baseline, child.inputs, child.peak
    mem_rows = [
        ["after imports", f"{b.maxrss:.1f}", f"{b.hwm:.1f}", f"{b.rss:.1f}"],
        ["+ pipespec and synthetic source", f"{i.maxrss:.1f}", f"{i.hwm:.1f}", f"{i.rss:.1f}"],
        ["after the job (peak)", f"{p.maxrss:.1f}", f"{p.hwm:.1f}", f"{p.rss:.1f}"],
        [
            "increment, job over imports",
            f"{p.maxrss - b.maxrss:+.1f}",
            f"{p.hwm - b.hwm:+.1f}",
            f"{p.rss - b.rss:+.1f}",
        ],
    ]
    print_table(mem_rows, ["child", "ru_maxrss", "VmHWM", "VmRSS"])
    print("(ru_maxrss: getrusage(RUSAGE_SELF) in the child; on Linux it starts at the parent's")
    print(" high-water mark, so its 'after imports' row can show the parent's figure rather than the")
    print(" child's. VmHWM is the peak of the child's own address space; VmRSS its RSS at that moment)")


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="a 10-minute video and workers 100,1000 only (smoke run)"
    )
    parser.add_argument(
        "--deadline-start",
        type=float,
        default=DEADLINE_START,
        help=f"playback delay after the first segment, Table 2 (default {DEADLINE_START:g})",
    )
    parser.add_argument(
        "--overhead-tasks",
        type=int,
        default=OVERHEAD_TASKS,
        help=f"tasks in the coordinator-overhead job (default {OVERHEAD_TASKS})",
    )
    args = parser.parse_args(argv)
    if args.deadline_start < 0:
        parser.error("--deadline-start must not be negative")
    if args.overhead_tasks < 1:
        parser.error("--overhead-tasks must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    seconds = QUICK_VIDEO_SECONDS if args.quick else VIDEO_SECONDS
    workers = QUICK_WORKERS if args.quick else WORKERS
    model = CloudModel()
    media = synthetic_media(seconds)
    modes_ = modes()
    print(f"python: {sys.version.split()[0]}; nproc: {nproc()}; {'QUICK run' if args.quick else 'full run'}")
    print(
        f"source: {media.source} ({media.width}x{media.height}, {len(media.frame_pts):,} frames, "
        f"keyframe every 1 s); simulated cloud: CloudModel() defaults ({model.name})"
    )

    # Before anything grows this process: a child's ru_maxrss starts at its parent's peak.
    child = run_child(args.overhead_tasks, OVERHEAD_WORKERS, CHUNK_SECONDS)

    scale_table(modes_, media, model, workers)
    print_model(model)
    policy_table(modes_, media, model, args.deadline_start)
    overhead_table(model, args.overhead_tasks, child)

    print()
    print(f"benchmark ran in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
