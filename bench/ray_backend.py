"""Benchmark: the same filter job on a 2-node local Ray cluster and on the local backend.

Both run ``sprocket filter --vf hue=s=0 -w 2`` on a generated testsrc2 clip (cached in
bench/.cache): the local backend with two worker processes, the Ray backend with one task at a
time on each of two nodes (one CPU each) of a cluster on 127.0.0.1 in a private network
namespace (tests/raycluster.py; needs root). Items live in the job folder on both (the Ray
nodes share this machine's file system), so Ray's object store carries only task and result
JSON. Per-task overhead is the time a task spends outside its worker's own work: from its
dispatch until the worker begins it, and from the worker's end until the coordinator has the
result: for each worker's first task (its process starts: a Ray job's workers are new
processes) and, the median, for the others. ``wall`` is the job's clock (from its start to the
final file); ``cmd`` the whole command, with the workers' start or the connection to the cluster.

    python bench/ray_backend.py            # 1080p, 60 s: the issue's job
    python bench/ray_backend.py --quick    # 640x360, 10 s: a minute or so
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import cached_clip

# The test helpers hold the loopback cluster: the benchmark runs on what the tests vouch for.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(src: Path, work: Path, name: str, backend: list[str]) -> dict[str, float]:
    """One ``sprocket filter`` run: its figures (see :func:`figures`)."""
    cmd = [
        sys.executable, "-m", "sprocket_cli", "filter", str(src), "--vf", "hue=s=0",
        "-o", str(work / f"{name}.mp4"), "-w", "2", "--json", "--overwrite",
        "--job-dir", str(work / "jobs"), *backend,
    ]  # fmt: skip
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    command = time.perf_counter() - started
    return figures([json.loads(line) for line in out.splitlines() if line.startswith("{")], command)


def figures(events: list[dict[str, Any]], command: float) -> dict[str, float]:
    """Seconds: ``command``, the job's ``wall``, ``worker`` (worker-seconds); per task, the time
    outside its worker's work (dispatch to the worker's start, plus the worker's end to the
    coordinator having the result) for the first task of each worker (``cold``: the worker
    process starts) and the median of the others (``steady``). The worker's times are its unix
    clock, the coordinator's are offsets from the job's start: one machine, one clock."""
    started = next(e for e in events if e["kind"] == "job_started")
    finished = next(e for e in events if e["kind"] == "job_finished")
    dispatched = {e["task_id"]: e["t"] for e in events if e["kind"] == "task_started"}
    cold, steady, seen = [], [], set()
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


def row(name: str, f: dict[str, float]) -> str:
    return (
        f"{name:<22} {f['command']:>6.2f} {f['wall']:>6.2f} {f['worker']:>8.2f} {f['tasks']:>5.0f} "
        f"{1000 * f['cold']:>7.0f} {1000 * f['steady']:>9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 640x360 10 s clip instead of 1080p 60 s")
    parser.add_argument("--chunk-seconds", type=float, default=1.0)
    args = parser.parse_args()
    seconds, size = (10, "640x360") if args.quick else (60, "1920x1080")
    src = cached_clip(seconds, size)

    from tests.raycluster import loopback_cluster

    chunking = ["--chunk-seconds", str(args.chunk_seconds)]
    print(f"input: {src.name}; sprocket filter --vf hue=s=0 -w 2 {' '.join(chunking)}")
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    print("per-task overhead, ms: the first task of each worker (cold) and the median of the rest")
    print(
        f"{'backend':<22} {'cmd s':>6} {'wall s':>6} {'worker s':>8} {'tasks':>5} {'cold':>7} {'steady':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp:
        work = Path(tmp)
        local = run(src, work, "local", chunking)
        print(row("local (2 processes)", local), flush=True)
        with loopback_cluster() as cluster, cluster.network.inside():
            on_ray = ["--backend", "ray", "--backend-opt", f"address={cluster.address}"]
            ray = run(src, work, "ray", [*chunking, *on_ray])
        print(row("ray (2 nodes x 1 CPU)", ray))
    print(f"ray wall / local wall: {ray['wall'] / local['wall']:.2f}")


if __name__ == "__main__":
    main()
