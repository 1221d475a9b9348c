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
import ast
import dataclasses
import inspect
import itertools
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from builtin_pipelines import load, path
from sprocket_cli.executors.simulated import (
    INTERMEDIATE_READ_COST,
    INTERMEDIATE_WRITE_COST,
    STAGE_COST,
    CloudModel,
)
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec, parse
from sprocket_cli.plan.estimate import Estimate, simulate, synthetic_media
from sprocket_cli.plan.fusion import plan
from sprocket_cli.plan.pricing import PRICE_DATE, PRICE_PER_GB_SECOND, PRICE_PER_REQUEST

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

WIDTH = 110

#: Runs one simulation in a fresh interpreter and prints its memory and CPU as JSON, so that
#: peak RSS is this job's alone (argv: tasks, workers, chunk seconds). Memory is read two ways:
#: ru_maxrss, and VmHWM (peak) / VmRSS (now) from /proc/self/status. On Linux a child's
#: ru_maxrss starts at its parent's high-water mark (it survives fork/vfork + exec), so the
#: child is started before this process has simulated anything; VmHWM belongs to the child's
#: own address space and is exact.
CHILD_CODE = """
import json, resource, sys, time

from builtin_pipelines import load
from sprocket_cli.plan.estimate import simulate, synthetic_media
from sprocket_cli.executors.simulated import CloudModel


def mem():
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                status[key] = int(value.split()[0]) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"maxrss": maxrss, "hwm": status.get("VmHWM", -1.0), "rss": status.get("VmRSS", -1.0)}


baseline = mem()
tasks, workers, chunk = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
spec = load("filter")
media = synthetic_media(tasks * chunk)
inputs = mem()
started = time.process_time()
est = simulate(spec, media, CloudModel(), workers=workers, chunk_seconds=chunk)
cpu = time.process_time() - started
peak = mem()
print(json.dumps({"baseline": baseline, "inputs": inputs, "peak": peak, "cpu_s": cpu, "tasks": est.tasks}))
"""


@dataclass(frozen=True)
class Mode:
    name: str
    """fused / unfused."""
    spec: Pipespec

    @property
    def groups(self) -> list[str]:
        return [g.name for g in plan(self.spec).groups]


@dataclass(frozen=True)
class Memory:
    maxrss: float
    """ru_maxrss so far, MiB."""
    hwm: float
    """VmHWM: peak RSS of this address space, MiB."""
    rss: float
    """VmRSS: RSS now, MiB."""

    @staticmethod
    def of(data: dict[str, Any]) -> Memory:
        return Memory(maxrss=float(data["maxrss"]), hwm=float(data["hwm"]), rss=float(data["rss"]))


@dataclass(frozen=True)
class ChildResult:
    baseline: Memory
    """Right after the imports."""
    inputs: Memory
    """Once the pipespec and the synthetic source exist."""
    peak: Memory
    """After the job."""
    cpu_s: float
    tasks: int
    parent_maxrss: float
    """This process's ru_maxrss when the child was started, MiB."""


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


def field_notes(cls: type) -> dict[str, str]:
    """Field name -> the docstring under it in ``cls``'s source (where its value comes from)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
        return {}
    body = tree.body[0].body
    notes: dict[str, str] = {}
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            notes[stmt.target.id] = " ".join(nxt.value.value.split())
    return notes


def nproc() -> int:
    return len(os.sched_getaffinity(0))


# ---------------------------------------------------------------------------------- report


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str], left: int = 1) -> None:
    """Fixed-width table; the first ``left`` columns left-aligned (names), the rest right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            f"{c:<{w}}" if i < left else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_notes_table(rows: Sequence[tuple[str, str, str]], header: tuple[str, str, str]) -> None:
    """Name, value, and a free-text note wrapped to the page width."""
    w0 = max(len(r[0]) for r in [header, *rows])
    w1 = max(len(r[1]) for r in [header, *rows])
    indent = " " * (w0 + w1 + 4)
    print(f"{header[0]:<{w0}}  {header[1]:>{w1}}  {header[2]}")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * (WIDTH - len(indent))}")
    for name, value, note in rows:
        wrapped = textwrap.wrap(note, WIDTH - len(indent)) or [""]
        print(f"{name:<{w0}}  {value:>{w1}}  {wrapped[0]}".rstrip())
        for more in wrapped[1:]:
            print(indent + more)


def heading(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_model(model: CloudModel) -> None:
    heading("Simulated cloud (every table): CloudModel() defaults, stage costs, prices")
    notes = field_notes(CloudModel)
    rows = [
        (f.name, fmt_value(getattr(model, f.name)), notes.get(f.name, "")) for f in dataclasses.fields(model)
    ]
    rows.append(("(worker_vcpus)", f"{model.worker_vcpus:.3f}", "derived: cores each worker computes with"))
    print_notes_table(rows, ("parameter", "value", "source / note"))
    print()
    cost_rows = [(f"STAGE_COST[{k!r}]", f"{v:g}", "") for k, v in STAGE_COST.items()]
    cost_rows[0] = (cost_rows[0][0], cost_rows[0][1], "core-seconds per frame, as a share of fused time")
    cost_rows += [
        ("INTERMEDIATE_WRITE_COST", f"{INTERMEDIATE_WRITE_COST:g}", "writing a lossless (FFV1) intermediate"),
        ("INTERMEDIATE_READ_COST", f"{INTERMEDIATE_READ_COST:g}", "reading one back"),
    ]
    print_notes_table(cost_rows, ("cost", "value", "note"))
    print(
        "task compute = frames x (sum of its stages' costs + intermediate read/write) "
        "/ (fps_per_core x worker_vcpus)"
    )
    print()
    price_rows = [
        (f"PRICE_PER_GB_SECOND[{arch!r}]", f"{price:.10f}", "$ per GB-second of billed duration")
        for arch, price in PRICE_PER_GB_SECOND.items()
    ]
    price_rows.append(("PRICE_PER_REQUEST", f"{PRICE_PER_REQUEST:.10f}", "$ per invocation"))
    print_notes_table(price_rows, ("price (AWS Lambda, us-east-1)", "value", "note"))
    print(
        f"price date: {PRICE_DATE}; simulate() bills x86_64 at memory_mb = {model.memory_mb} "
        f"({model.memory_mb / 1024:.4f} GB) per worker-second"
    )


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


def run_child(tasks: int, workers: int) -> ChildResult:
    parent_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cmd = [sys.executable, "-c", CHILD_CODE, str(tasks), str(workers), str(CHUNK_SECONDS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"memory child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return ChildResult(
        baseline=Memory.of(data["baseline"]),
        inputs=Memory.of(data["inputs"]),
        peak=Memory.of(data["peak"]),
        cpu_s=float(data["cpu_s"]),
        tasks=int(data["tasks"]),
        parent_maxrss=parent_maxrss,
    )


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
    child = run_child(args.overhead_tasks, OVERHEAD_WORKERS)

    scale_table(modes_, media, model, workers)
    print_model(model)
    policy_table(modes_, media, model, args.deadline_start)
    overhead_table(model, args.overhead_tasks, child)

    print()
    print(f"benchmark ran in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
