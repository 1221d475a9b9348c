"""Benchmark: how soon Lambda workers can start on a local source, pipelined against not.

Remote workers cannot read the laptop's files, so the source goes to S3 first. Baseline: upload
the whole file (multipart, 8 parts at a time), after which every task could start. Sprocket:
cut the source into chunk files by stream copy in one pass and upload them concurrently
(``sprocket_cli.run.staging.Stager``); a chunk's tasks start as soon as its own upload is done.
The figures are the time until the first task could start and until the last one could.

S3 is moto's server on 127.0.0.1 (real HTTP; no AWS account here), so loopback is much faster
than a home uplink. ``--uplink-mbps`` also runs both through a shared link of that speed (a
model: one lock paces every byte sent, whatever the number of concurrent uploads).

    PYTHONPATH=. python bench/upload_pipelining.py                 # 1080p, 60 s
    PYTHONPATH=. python bench/upload_pipelining.py --seconds 10 --runs 1
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from sprocket_cli.jobs.options import DEFAULT_CHUNK_SECONDS, DEFAULT_FIRST_CHUNK_SECONDS
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import probe
from sprocket_cli.media.testclip import make_test_clip
from sprocket_cli.run.staging import Stager
from sprocket_cli.storage.s3 import S3Storage

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
BUCKET = "sprocket-bench"


class Uplink(S3Storage):
    """S3 storage whose uploads share one link of ``mbps`` megabits per second."""

    def __init__(self, bucket: str, prefix: str, mbps: float) -> None:
        super().__init__(bucket, prefix)
        self.bytes_per_second = mbps * 1e6 / 8
        self._link = threading.Lock()

    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        with self._link:  # the link carries one upload's bytes at a time, at its speed
            time.sleep(os.path.getsize(path) / self.bytes_per_second)
        return super().put_file(key, path, exclusive=exclusive)


def whole(source: Path, storage: S3Storage) -> float:
    """Seconds to upload the whole source."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "source.mp4"
        shutil.copyfile(source, copy)  # put_file moves its file away
        started = time.perf_counter()
        storage.put_file("whole/source.mp4", str(copy))
        return time.perf_counter() - started


def pipelined(source: Path, storage: S3Storage) -> tuple[float, float, int]:
    """(seconds to the first chunk uploaded, to the last, chunks)."""
    plan = plan_chunks(probe(str(source)), DEFAULT_CHUNK_SECONDS, DEFAULT_FIRST_CHUNK_SECONDS)
    started = time.perf_counter()
    stager = Stager("input_0", str(source), plan, storage, "staged")
    first = None
    try:
        while stager.pending:
            if stager.take(1.0) and first is None:
                first = time.perf_counter() - started
    finally:
        stager.close()
    assert first is not None
    return first, time.perf_counter() - started, len(plan.chunks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uplink-mbps", type=float, default=40.0)
    args = parser.parse_args()

    CACHE_DIR.mkdir(exist_ok=True)
    source = CACHE_DIR / f"upload-{args.size}-{args.seconds:g}s.mp4"
    if not source.exists():
        make_test_clip(source, seconds=args.seconds, size=args.size, fps=30, keyint=60, preset="ultrafast")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    size = source.stat().st_size
    print(
        f"source: {source.name}, {size / 1e6:.1f} MB, {args.seconds:g} s at {args.size}; S3: moto on loopback"
    )
    print(f"median of {args.runs} runs, seconds\n")
    print(f"| {'link':<14} | {'whole file':>10} | {'first chunk':>11} | {'all chunks':>10} | {'chunks':>6} |"
          f" {'first task starts at':>20} |")  # fmt: skip
    print(f"|{'-' * 16}|{'-' * 12}|{'-' * 13}|{'-' * 12}|{'-' * 8}|{'-' * 22}|")
    links: list[tuple[str, S3Storage]] = [("loopback", S3Storage(BUCKET, "bench"))]
    if args.uplink_mbps:
        links.append((f"{args.uplink_mbps:g} Mbit/s", Uplink(BUCKET, "bench", args.uplink_mbps)))
    for name, storage in links:
        wholes, firsts, lasts, chunks = [], [], [], 0
        for _ in range(args.runs):
            wholes.append(whole(source, storage))
            first, last, chunks = pipelined(source, storage)
            firsts.append(first)
            lasts.append(last)
        w, f, a = statistics.median(wholes), statistics.median(firsts), statistics.median(lasts)
        print(f"| {name:<14} | {w:>10.2f} | {f:>11.2f} | {a:>10.2f} | {chunks:>6} | {100 * f / w:>18.1f} % |")
    print("\n'first task starts at': the first chunk's upload as a share of the whole file's upload.")
    server.stop()


if __name__ == "__main__":
    main()
