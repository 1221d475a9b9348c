"""Benchmark: the Lambda bundle's size per target, and what one invocation costs over running in-process.

Sizes: ``lambda_bundle.build.build_bundle`` for x86_64 and arm64 (python3.12, as deployed),
with and without the local face provider; a variant over Lambda's 250 MB says why instead.

Overhead: the bundle for this machine and the running Python, served by the local Invoke
API of the tests, called with boto3's real lambda client, in two modes: cold
(``tests/lambda_endpoint.py``: a fresh isolated interpreter per invocation) and warm
(``tests/lambda_warm.py``: one long-lived interpreter per concurrent invocation, as Lambda
keeps an execution environment between invocations):

  (a) metadata   ``{"metadata": true}``: the runtime's floor (interpreter, imports, HTTP)
  (b) task       a decode+filter+encode chunk task (1 s of 320x240) through the endpoint
  (c) in-process the same task by ``run_task`` in this process (the baseline)

Runs alternate (a cold, b cold, a warm, b warm, c, ...); the table shows medians of wall time
around the call, then (b) - (c) broken down per run (medians of each part, so the parts add up
only roughly): the interpreter's start and exit, init (importing the handler), the handler's
time over (c) (the task path's imports and first-call look-ups), and the invoke round trip
(boto3, HTTP, the endpoint). The warm endpoint's first invocation is its cold start, which
the medians leave out from three runs on. Then what the bundle's imports cost (``-X importtime``, from
source as on Lambda: the bundle carries no bytecode and its folder is read-only), and what a
new boto3 client costs over a reused one. There is no network and no Lambda here: the overhead
is the runtime start and the adapter, not AWS's. ::

    python bench/lambda_bundle.py [--runs 5] [--no-sizes]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
from tests.lambda_endpoint import FUNCTION, Invocation, LocalLambda
from tests.lambda_runtime import machine_arch
from tests.lambda_warm import WarmLambda
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


def lambda_client(url: str) -> Any:
    """boto3's lambda client against the endpoint at ``url``, retries off."""
    return boto3.session.Session().client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=300),
    )


def overhead(runs: int, work: Path) -> list[str]:
    CACHE.mkdir(exist_ok=True)
    clip = CACHE / "lambda-2s-320x240.mp4"
    if not clip.exists():
        make_test_clip(clip, seconds=2, keyint=25)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle = build_bundle(machine_arch(), work / "local", python)
    times: dict[str, list[float]] = {k: [] for k in ("a cold", "b cold", "a warm", "b warm", "c")}
    store = LocalStorage(work / "store")
    with LocalLambda(bundle.path) as cold, WarmLambda(bundle.path) as warm:
        endpoints = {"cold": (cold, lambda_client(cold.url)), "warm": (warm, lambda_client(warm.url))}

        def timed(key: str, call: Callable[..., object], *args: Any) -> str:
            t0 = time.perf_counter()
            call(*args)
            times[key].append(time.perf_counter() - t0)
            return f"{times[key][-1]:.3f}s"

        def invoke(mode: str, event: dict[str, Any]) -> None:
            response = endpoints[mode][1].invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode())
            if response.get("FunctionError"):
                raise RuntimeError(response["Payload"].read().decode())

        for i in range(runs):
            line = [f"run {i + 1}:"]
            for n, mode in enumerate(("cold", "warm")):
                event = {
                    "task": json.loads(task_for(clip, 3 * i + n).to_json()),
                    "storage": asdict(store.spec()),
                }
                line.append(f"{mode} metadata {timed(f'a {mode}', invoke, mode, {'metadata': True})}")
                line.append(f"task {timed(f'b {mode}', invoke, mode, event)}")
            line.append(f"in-process {timed('c', run_task, task_for(clip, 3 * i + 2), store)}")
            print("  ".join(line))
        tasks = {
            mode: [r for r in ep.runs if r.event and "task" in r.event] for mode, (ep, _) in endpoints.items()
        }
        imports = import_costs(cold.root)
    base = statistics.median(times["c"])
    rows = [f"{'invocation':<36}{'cold s':>9}{'warm s':>9}{'cold/c':>8}{'warm/c':>8}"]
    for key, label in (("a", "(a) metadata via endpoint"), ("b", "(b) chunk task via endpoint")):
        cold_s, warm_s = statistics.median(times[f"{key} cold"]), statistics.median(times[f"{key} warm"])
        rows.append(f"{label:<36}{cold_s:>9.3f}{warm_s:>9.3f}{cold_s / base:>7.2f}x{warm_s / base:>7.2f}x")
    rows.append(f"{'(c) chunk task, run_task here':<36}{base:>9.3f}{base:>9.3f}{1:>7.2f}x{1:>7.2f}x")
    rows += ["", f"{'overhead per task (b - c), medians':<36}{'cold s':>9}{'warm s':>9}"]
    parts = {mode: breakdown(times[f"b {mode}"], times["c"], tasks[mode]) for mode in ("cold", "warm")}
    for name in parts["cold"]:
        rows.append(f"{name:<36}{parts['cold'][name]:>9.3f}{parts['warm'][name]:>9.3f}")
    return [*rows, "", *imports, "", *client_costs(runs)]


def breakdown(task_s: list[float], here_s: list[float], records: list[Invocation]) -> dict[str, float]:
    """(b) - (c) per run, and its parts (medians of each)."""
    per_run = [
        {
            "  process start and exit": (r.run_ms - r.init_ms - r.duration_ms) / 1000,
            "  init: import lambda_bundle.handler": r.init_ms / 1000,
            "  handler over run_task here": r.duration_ms / 1000 - c,
            "  invoke round trip (boto3, HTTP)": b - r.run_ms / 1000,
            "= overhead per task (b - c)": b - c,
        }
        for b, c, r in zip(task_s, here_s, records, strict=True)
    ]
    return {name: statistics.median(run[name] for run in per_run) for name in per_run[0]}


def import_costs(root: Path) -> list[str]:
    """The largest imports (cumulative) of a cold start, by ``-X importtime`` in the bundle."""
    rows = []
    for label, modules in (
        ("metadata", "lambda_bundle.handler"),
        ("a task", "lambda_bundle.handler, sprocket_cli.worker"),
    ):
        code = f"import sys; sys.path.insert(0, {str(root)!r}); import {modules}"
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code],
            capture_output=True, text=True, check=True, cwd=root,
        )  # fmt: skip
        entries = [line.split("|") for line in out.stderr.splitlines() if line.startswith("import time:")]
        cumulative = sorted(
            ((int(e[1]), e[2].strip()) for e in entries if e[1].strip().isdigit()), reverse=True
        )
        top = ", ".join(f"{name} {us / 1e6:.3f}" for us, name in cumulative[:6])
        rows.append(f"cold imports for {label} (s, cumulative, from source): {top}")
    return rows


def client_costs(runs: int) -> list[str]:
    """What a new boto3 client costs (a new session: its loaders, credentials, a new
    connection pool) against reusing one, which costs nothing per call."""
    from sprocket_cli.storage.s3 import s3_client

    def made(make: Callable[[], object]) -> float:
        spent = []
        for _ in range(max(3, runs)):
            t0 = time.perf_counter()
            make()
            spent.append(time.perf_counter() - t0)
        return statistics.median(spent)

    lam = made(lambda: lambda_client("http://127.0.0.1:9"))
    s3 = made(
        lambda: s3_client(
            boto3.session.Session(aws_access_key_id="b", aws_secret_access_key="b"), "us-east-1"
        )
    )
    return [
        f"a new lambda client per invoke (coordinator) would add {lam:.3f} s; the executor makes one per job",
        f"a new S3 client per task (worker) would add {s3:.3f} s; a process keeps one per region",
    ]


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
