"""Benchmark: the same filter job on a 2-node local Ray cluster and on the local backend, then a
simulated 32-node cluster on an hour of 1080p.

Table 1 runs ``filter --vf hue=s=0`` with 2 workers on a generated testsrc2 clip (cached in
bench/.cache), ``--runs`` times, alternating local and Ray, and gives each figure's median: the
local backend with two worker processes, the Ray backend with one task at a time on each of two
nodes (one CPU each) of a cluster on 127.0.0.1 in a private network namespace
(tests/raycluster.py; needs root). Ray runs twice: with items in the job folder (the nodes
share this machine's file system), where Ray carries only task and result JSON (``ray KB``:
the executor counts them; Ray inlines objects this small), and with the backend's default,
the object store, where the source's chunks and every result go through it too (``store MB``:
put in, and read out by tasks and the final assembly). Per-task overhead is the time a task
spends outside its worker's own work, dispatch to the worker's start plus the worker's end to
the coordinator having the result: for each worker's first task (``cold``: its process
starts; a Ray job's workers are new processes) and the median of the others (``steady``).
``wall`` is the job's clock (its start to the final file); ``cmd`` adds the workers' start or
the connection to the cluster.

Table 2 simulates an hour of 1080p25 in 1 s chunks on 32 nodes of 1 to 16 CPUs
(:func:`sprocket_cli.backends.ray_plan.ray_model`, which ``sprocket plan --backend ray`` uses),
with frames/s per core timed here on 1080p as ``sprocket plan`` does and each task's time
lengthened by the measured steady overhead. The coordinator runs on a virtual clock there, so
its own CPU per task is measured around the simulation (process_time / tasks), and the cluster
outruns it once tasks finish faster than it handles them: at workers > task seconds / CPU per task.

    python bench/ray_backend.py                   # 1080p, 60 s, 3 runs each: the issue's job
    python bench/ray_backend.py --quick           # 640x360, 10 s, one run each: ~2.5 min here
    python bench/ray_backend.py --quick --runs 3  # ~3 min here (2 cores, load 10-20)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchkit import cached_clip

# The test helpers hold the loopback cluster: the benchmark runs on what the tests vouch for.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import builtin_pipelines  # after the path above
from sprocket_cli.executors.base import Executor
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job

NODES = 32
CPUS_PER_NODE = (1, 4, 8, 16)


def run(
    src: Path,
    work: Path,
    name: str,
    make: Callable[[], Executor],
    chunk_seconds: float,
    objects: bool = False,
) -> dict[str, float]:
    """One filter job on the executor ``make`` gives, with items in the Ray object store
    (``objects``) or the job folder: its figures (see :func:`figures`), ``moved``: the bytes of
    JSON that went through Ray (none on the local backend), ``stored``: the bytes put in and
    read out of the object store."""
    from sprocket_cli.executors.ray_cluster import RayExecutor
    from sprocket_cli.storage.ray_objects import RayObjectStorage, actor_name

    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=2, chunk_seconds=chunk_seconds, job_parent=work / "jobs", overwrite=True)
    if objects:  # the ray backend's job: its source cut into the store for the nodes
        options = replace(options, backend="ray")
    started = time.perf_counter()
    executor = make()
    stored = 0
    try:
        job = prepare_job(spec, {"input_0": str(src)}, {"output_0": work / f"{name}.mp4"}, options)
        store = RayObjectStorage(actor_name(job.job_id)) if objects else None
        events = []
        for event in execute(job, executor, store):
            events.append(event.to_dict())
            if store is not None and event.KIND == "job_finished":  # the store ends with the job
                traffic = store.traffic()
                stored = traffic.put + traffic.read
    finally:
        executor.close()
    found = figures(events, time.perf_counter() - started)
    found["moved"] = float(executor.moved if isinstance(executor, RayExecutor) else 0)
    found["stored"] = float(stored)
    return found


def figures(events: list[dict[str, Any]], command: float) -> dict[str, float]:
    """Seconds: ``command``, the job's ``wall``, ``worker`` (worker-seconds); per task, the time
    outside its worker's work for the first task of each worker (``cold``) and the median of
    the others (``steady``). The worker's times
    are its unix clock, the coordinator's offsets from the job's start: one machine, one clock."""
    started = next(e for e in events if e["kind"] == "job_started")
    finished = next(e for e in events if e["kind"] == "job_finished")
    dispatched = {e["task_id"]: e["t"] for e in events if e["kind"] == "task_started"}
    cold: list[float] = []
    steady: list[float] = []
    seen: set[str] = set()
    for e in (e for e in events if e["kind"] == "task_finished"):
        timings = e["result"]["timings"]
        began = timings["started"] - started["started_at"]
        ended = began + timings["read"] + timings["compute"] + timings["write"]
        outside = (began - dispatched[e["task_id"]]) + (e["t"] - ended)
        (steady if e["worker"] in seen else cold).append(outside)
        seen.add(e["worker"])
    return {
        "command": command,
        "wall": finished["wall"],
        "worker": finished["worker_seconds"],
        "tasks": finished["invocations"],
        "cold": statistics.mean(cold),
        "steady": statistics.median(steady) if steady else float("nan"),
    }


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def row(name: str, f: dict[str, float]) -> str:
    return (
        f"{name:<22} {f['command']:>6.2f} {f['wall']:>6.2f} {f['worker']:>8.2f} {f['tasks']:>5.0f} "
        f"{1000 * f['cold']:>7.0f} {1000 * f['steady']:>9.1f} {f['moved'] / 1000:>7.1f} "
        f"{f['stored'] / 1e6:>8.1f}"
    )


def measure(src: Path, runs: int, chunk_seconds: float) -> dict[str, float]:
    """Table 1; the Ray figures' medians."""
    from sprocket_cli.executors.local import LocalExecutor
    from sprocket_cli.executors.ray_cluster import RayExecutor
    from tests.raycluster import loopback_cluster

    print(
        f"per-task overhead, ms: the first task of each worker (cold) and the median of the rest; {runs} runs"
    )
    header = (
        f"{'backend':<22} {'cmd s':>6} {'wall s':>6} {'worker s':>8} {'tasks':>5} {'cold':>7} {'steady':>9}"
    )
    print(f"{header} {'ray KB':>7} {'store MB':>8}")
    local, ray, objects = [], [], []
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp, loopback_cluster() as cluster:
        work = Path(tmp)
        for i in range(runs):
            local.append(run(src, work, "local", lambda: LocalExecutor(2), chunk_seconds))
            with cluster.network.inside():
                ray.append(run(src, work, "ray", lambda: RayExecutor(2, cluster.address), chunk_seconds))
                objects.append(
                    run(src, work, "objects", lambda: RayExecutor(2, cluster.address), chunk_seconds, True)
                )
            print(
                f"  run {i + 1}: local wall {local[-1]['wall']:.2f}s, ray wall {ray[-1]['wall']:.2f}s, "
                f"ray object store wall {objects[-1]['wall']:.2f}s",
                flush=True,
            )
    print(row("local (2 processes)", median(local)))
    print(row("ray, job folder", median(ray)))
    print(row("ray, object store", median(objects)))
    for name, runs_of in (("job folder", ray), ("object store", objects)):
        print(f"ray ({name}) wall / local wall: {median(runs_of)['wall'] / median(local)['wall']:.2f}")
    return median(ray)


def simulate_cluster(overhead: float, minutes: float) -> None:
    """Table 2."""
    from sprocket_cli.backends.ray_plan import WORKER_START_S, ray_model
    from sprocket_cli.media.probe import probe
    from sprocket_cli.plan.calibrate import frames_per_core_second
    from sprocket_cli.plan.estimate import simulate, synthetic_media

    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    rate = frames_per_core_second(spec, probe(str(cached_clip(10, "1920x1080"))))
    media = synthetic_media(minutes * 60, 25, 2.0, (1920, 1080))
    print(
        f"\n{NODES} simulated nodes, {minutes:.0f} min of 1080p25 in 1 s chunks; {rate:.1f} frames/s "
        f"per core (timed here); +{1000 * overhead:.1f} ms per task (measured steady overhead)"
    )
    print(
        f"{'CPUs/node':>9} {'workers':>7} {'wall s':>8} {'x real':>7} {'worker s':>9} "
        f"{'coord CPU ms/task':>17} {'coord limit':>11}"
    )
    for per_node in CPUS_PER_NODE:
        cpus = NODES * per_node
        # The measured overhead (dispatch to start, end to result) added to each task's time,
        # half on its read and half on its write.
        model = ray_model(rate, cpus)
        model = replace(model, storage_latency_s=model.storage_latency_s + overhead / 2)
        cpu = time.process_time()
        e = simulate(spec, media, model, workers=cpus, init_s=WORKER_START_S)
        per_task = (time.process_time() - cpu) / e.tasks
        task_seconds = e.worker_seconds / e.tasks
        limit = task_seconds / per_task  # workers whose finishing tasks keep one coordinator core busy
        print(
            f"{per_node:>9} {cpus:>7} {e.wall:>8.1f} {media.duration / e.wall:>7.1f} "
            f"{e.worker_seconds:>9.0f} {1000 * per_task:>17.2f} {limit:>11.0f}"
        )
    print("coord limit: a task's seconds / the coordinator's CPU seconds per task: past that many workers,")
    print("tasks finish faster than one coordinator core handles them")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 640x360 10 s clip, one run")
    parser.add_argument(
        "--runs", type=int, help="alternating runs of each backend (default 3; 1 with --quick)"
    )
    parser.add_argument("--chunk-seconds", type=float, default=1.0)
    parser.add_argument("--sim-minutes", type=float, default=60.0, help="of 1080p on the simulated cluster")
    args = parser.parse_args()
    seconds, size = (10, "640x360") if args.quick else (60, "1920x1080")
    runs = args.runs or (1 if args.quick else 3)
    src = cached_clip(seconds, size)
    print(f"input: {src.name}; filter --vf hue=s=0 -w 2 --chunk-seconds {args.chunk_seconds}")
    print(f"load before: {os.getloadavg()} (1, 5, 15 min) on {os.cpu_count()} cores")
    ray = measure(src, runs, args.chunk_seconds)
    simulate_cluster(ray["steady"], args.sim_minutes)
    print(f"load after: {os.getloadavg()} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
