"""The faults of ``bench.faults`` that need more than a command line: a worker or a worker's
ffmpeg killed mid-task, a disk that fills (tmpfs mounts: root), and an ``s3://`` input read
from moto's server with a session token."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace

import boto3
import psutil
from moto.server import ThreadedMotoServer

from bench.faultscene import Baseline, Outcome, Scenario, Scene, done
from sprocket_cli.jobs.journal import RESERVE
from tests.conftest import AwsStandIn
from tests.e2e.test_disk_full_job import pages
from tests.faultkit import Event, Run, worker_ffmpeg

BUCKET = "footage"
#: What the tests take for a disk too small for any output (tests/e2e/test_full_disk.py).
TINY_DISK_KIB = 96


def _run_with(scene: Scene, args: list[str], inject: Callable[[Run], None]) -> Outcome:
    """Run ``sprocket *args``, let ``inject`` do its harm once the run is under way, and wait
    for the command to end."""
    with tempfile.TemporaryFile("w+") as err:
        run = Run(args, env=scene.env(), stderr=err)
        try:
            inject(run)
            code = run.finish()
        finally:
            run.kill()
        err.seek(0)
        stderr = err.read()
    return Outcome(code, "".join(json.dumps(e) + "\n" for e in run.events) + stderr, stderr)


def _kill_chunk_1s_worker(run: Run) -> None:
    """SIGKILL the worker of chunk 1 once chunk 0's worker is busy too, as
    tests/e2e/test_worker_faults.py does: a dead worker must not cost its neighbour's task."""
    running: dict[int, int] = {}  # chunk -> pid of the worker running it

    def both_running(event: Event) -> bool:
        if event["kind"] == "task_progress" and event["chunk"] in (0, 1):
            running[event["chunk"]] = int(event["worker"].rpartition(":")[2])
        return len(running) == 2

    run.until(both_running)
    psutil.Process(running[1]).kill()


def kill_worker(scene: Scene, base: Baseline) -> Outcome:
    # Chunk 1 stalls long (its retry does not stall), chunk 0 a while: both are mid-task.
    args = scene.args(base.src, "--inject", "0:sleep=8", "--inject", "1:sleep=60")
    return _run_with(scene, args, _kill_chunk_1s_worker)


def _kill_a_workers_ffmpeg(run: Run) -> None:
    coordinator = psutil.Process(run.proc.pid)
    found: list[psutil.Process] = []

    def encoding(_event: Event) -> bool:
        found[:] = worker_ffmpeg(coordinator)
        return bool(found)

    while True:
        run.until(encoding)
        try:
            found[0].kill()
            return
        except psutil.NoSuchProcess:
            continue  # it ended between the look and the kill: the next one


def kill_worker_ffmpeg(scene: Scene, base: Baseline) -> Outcome:
    # veryslow: each chunk's ffmpeg runs for a second or two, long enough to be found.
    return _run_with(scene, scene.args(base.src, "--preset", "veryslow"), _kill_a_workers_ffmpeg)


def disk_full_job_folder(scene: Scene, base: Baseline) -> Outcome:
    """The job folder on a disk that holds the uninterrupted run's job folder but half its video
    segments (tests/e2e/test_disk_full_job.py's size): a later chunk finds the disk full."""
    files = [p for p in base.jobs.rglob("*") if p.is_file()]
    video = [p for p in files if p.parent.name == "stream" and p.name.startswith("seg_")]
    scene.fill(scene.jobs, (pages(files) + RESERVE - pages(video) // 2) // 1024)
    return done(scene.sprocket(*scene.args(base.src)))


def disk_full_output(scene: Scene, base: Baseline) -> Outcome:
    scene.fill(scene.outdir, TINY_DISK_KIB)
    return done(scene.sprocket(*scene.args(base.src)))


def s3_input(scene: Scene, base: Baseline) -> Outcome:
    """The source from moto's S3 with a session token (so every signed URL carries
    X-Amz-Security-Token), then ``sprocket jobs``: what both said counts with the job folder."""
    # moto's web server logs each request, signed query and all, on this terminal otherwise.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        aws = AwsStandIn(f"http://{host}:{port}").env()
        s3 = boto3.client(
            "s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name=aws["AWS_REGION"],
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"], aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=aws["AWS_SESSION_TOKEN"],
        )  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(base.src), BUCKET, "in/clip.mp4")
        env = {k: v for k, v in scene.env().items() if k != "AWS_PROFILE"} | aws
        url = f"s3://{BUCKET}/in/clip.mp4"
        ran = scene.sprocket(*scene.args(url), env=env)
        listed = scene.sprocket("jobs", "--job-dir", str(scene.jobs), env=env | {"COLUMNS": "200"})
    finally:
        server.stop()
    if url not in listed.stdout:  # else "no secret printed" would say nothing
        raise SystemExit(f"`sprocket jobs` did not list the s3:// job:\n{listed.stdout}{listed.stderr}")
    outcome = done(ran)
    return replace(outcome, said=outcome.said + listed.stdout + listed.stderr)


MORE_SCENARIOS: list[tuple[str, Scenario]] = [
    ("kill -9 of one worker mid-task", kill_worker),
    ("kill -9 of a worker's ffmpeg mid-task (--preset veryslow)", kill_worker_ffmpeg),
    ("disk full: the job folder (half its segments fit)", disk_full_job_folder),
    (f"disk full: -o's folder ({TINY_DISK_KIB} KiB)", disk_full_output),
    ("s3:// input, session token; then `sprocket jobs`", s3_input),
]
