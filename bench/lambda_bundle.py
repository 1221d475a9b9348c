"""Benchmark: the Lambda bundle's size per target, and what one invocation costs over running in-process.

Sizes: ``lambda_bundle.build.build_bundle`` for x86_64 and arm64 (python3.12, as deployed),
with and without the local face provider; a variant over Lambda's 250 MB says why instead.

Overhead: the bundle for this machine and the running Python, served by the local Invoke
API of the tests (``tests/lambda_endpoint.py``: a fresh isolated interpreter per invocation,
so every call is a cold start), called with boto3's real lambda client:

  (a) metadata   ``{"metadata": true}``: the runtime's floor (interpreter, imports, HTTP)
  (b) task       a decode+filter+encode chunk task (1 s of 320x240) through the endpoint
  (c) in-process the same task by ``run_task`` in this process (the baseline)

Runs alternate (a, b, c, a, b, c, ...); the table shows medians of wall time around the call.
There is no network and no Lambda here: the overhead is the runtime start and the adapter,
not AWS's. ::

    python bench/lambda_bundle.py [--runs 5] [--no-sizes]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lambda_endpoint, from a checkout

import boto3
from botocore.config import Config

from lambda_bundle.build import MAX_UNZIPPED_BYTES, BundleTooLarge, build_bundle
from sprocket_cli.media.testclip import make_test_clip
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Task
from sprocket_cli.worker import run_task
from tests.lambda_endpoint import FUNCTION, LocalLambda
from tests.lambda_runtime import machine_arch
from tests.tasks import gray_task

CACHE = Path(__file__).resolve().parent / ".cache"


def sizes(out: Path) -> list[str]:
    rows = [f"{'bundle':<22}{'zipped MB':>11}{'unzipped MB':>13}  note"]
    for arch in ("x86_64", "arm64"):
        for faces in (False, True):
            name = f"{arch}{' + faces' if faces else ''}"
            try:
                b = build_bundle(arch, out / name.replace(" + ", "-"), "3.12", faces=faces)
            except BundleTooLarge as error:
                rows.append(f"{name:<22}{'-':>11}{'-':>13}  does not fit: {error}")
                continue
            biggest = ", ".join(f"{n} {s / 1e6:.0f}" for n, s in b.sizes[:3])
            rows.append(
                f"{name:<22}{b.zipped_bytes / 1e6:>11.1f}{b.unzipped_bytes / 1e6:>13.1f}  "
                f"{(MAX_UNZIPPED_BYTES - b.unzipped_bytes) / 1e6:.0f} MB to spare; largest: {biggest}"
            )
    return rows


def task_for(clip: Path, index: int) -> Task:
    """The first chunk's gray task, under a fresh key per run (never superseded)."""
    task = gray_task(clip, 0, job_id="bench")
    return replace(task, task_id=f"gray/c{index:05d}", output_key=f"stream/seg_{index:05d}.m4s")


def overhead(runs: int, work: Path) -> list[str]:
    CACHE.mkdir(exist_ok=True)
    clip = CACHE / "lambda-2s-320x240.mp4"
    if not clip.exists():
        make_test_clip(clip, seconds=2, keyint=25)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle = build_bundle(machine_arch(), work / "local", python)
    times: dict[str, list[float]] = {"metadata": [], "task": [], "in-process": []}
    with LocalLambda(bundle.path) as endpoint:
        client: Any = boto3.client(
            "lambda",
            endpoint_url=endpoint.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=300),
        )

        def invoke(event: dict[str, Any]) -> None:
            response = client.invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode())
            if response.get("FunctionError"):
                raise RuntimeError(response["Payload"].read().decode())

        store = LocalStorage(work / "store")
        for i in range(runs):
            t0 = time.perf_counter()
            invoke({"metadata": True})
            t1 = time.perf_counter()
            invoke({"task": json.loads(task_for(clip, 2 * i).to_json()), "storage": asdict(store.spec())})
            t2 = time.perf_counter()
            run_task(task_for(clip, 2 * i + 1), store)
            t3 = time.perf_counter()
            times["metadata"].append(t1 - t0)
            times["task"].append(t2 - t1)
            times["in-process"].append(t3 - t2)
            print(f"run {i + 1}: metadata {t1 - t0:.3f}s  task {t2 - t1:.3f}s  in-process {t3 - t2:.3f}s")
        durations = sorted(inv.duration_ms for inv in endpoint.runs if inv.event and "task" in inv.event)
    base = statistics.median(times["in-process"])
    rows = [f"{'invocation':<34}{'median s':>10}{'vs in-process':>15}"]
    for name, label in (
        ("metadata", "(a) metadata via endpoint"),
        ("task", "(b) chunk task via endpoint"),
        ("in-process", "(c) chunk task, run_task here"),
    ):
        m = statistics.median(times[name])
        rows.append(f"{label:<34}{m:>10.3f}{m / base:>14.2f}x")
    handler = statistics.median(durations) / 1000 if durations else 0.0
    rows.append(f"{'    handler time inside (b)':<34}{handler:>10.3f}{handler / base:>14.2f}x")
    rows.append(f"overhead per task (b - c): {statistics.median(times['task']) - base:.3f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sizes", action="store_true", help="skip the four target builds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp:
        work = Path(tmp)
        table = [] if args.no_sizes else sizes(work)
        timing = overhead(args.runs, work)
    print()
    if table:
        print(f"Lambda bundle sizes (python3.12; limit {MAX_UNZIPPED_BYTES / 1e6:.1f} MB unzipped):")
        print("\n".join(table))
        print()
    where = f"{machine_arch()}, python {sys.version.split()[0]}"
    print(f"Invoke round trip, local endpoint, {args.runs} runs, {where}:")
    print("\n".join(timing))


if __name__ == "__main__":
    main()
