"""The coordinator's memory and CPU on a big simulated job, measured in a fresh interpreter
(bench/scale_sim.py's Table 3), so that peak RSS is that job's alone."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

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


def run_child(tasks: int, workers: int, chunk_seconds: float) -> ChildResult:
    parent_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cmd = [sys.executable, "-c", CHILD_CODE, str(tasks), str(workers), str(chunk_seconds)]
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
