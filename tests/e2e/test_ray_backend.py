"""``--backend ray`` on a real two-node Ray cluster, all on 127.0.0.1 in a private network
namespace (tests/raycluster.py): nothing listens elsewhere, a filter job gives the local
backend's frames with its items in the job folder or in S3-compatible storage (in the object
store, the default: test_ray_objects), and a node killed mid-job costs only its task, which
reruns on the other."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.backends import open_backend
from sprocket_cli.cli import app
from sprocket_cli.errors import OptionError
from sprocket_cli.events import Event, TaskFailed, TaskFinished
from sprocket_cli.executors.ray_cluster import RayExecutor
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.session import JobRequest, start
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.storage.s3 import s3_client
from sprocket_cli.tasks import Fault
from tests.conftest import AwsStandIn
from tests.media_checks import VideoFacts, facts
from tests.raycluster import LOOPBACK, RayCluster, listening
from tests.tasks import gray_task

pytestmark = pytest.mark.timeout(240)
runner = CliRunner()

#: A per-frame filter and a windowed one (each chunk decodes two frames before its start).
VF = "hue=s=0,tmix=frames=3"
#: Lossless x264: the decoded frames are the filter's, whatever threads each encoder had (a
#: lossy x264's output depends on its thread count, which differs between a local job's last
#: task and the others).
JOB = ("--vf", VF, "--crf", "0", "-w", "2", "--chunk-seconds", "1")
#: Seconds a test waits for what it watches for.
REACH_WITHIN = 60.0


@pytest.fixture(scope="module")
def local_facts(small_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> VideoFacts:
    """The local backend's output of :data:`JOB`."""
    here = tmp_path_factory.mktemp("local")
    out = here / "local.mp4"
    run_cli("filter", str(small_clip), *JOB, "-o", str(out), jobs=here)
    return facts(out)


def run_cli(*args: str, jobs: Path) -> list[dict[str, Any]]:
    result = runner.invoke(app, [*args, "--json", "--job-dir", str(jobs / "jobs")])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_every_listening_socket_of_the_cluster_is_on_loopback(
    cluster: RayCluster, clip: Path, tmp_path: Path
) -> None:
    # A task on each node first, so that workers listen too, not only the nodes' services.
    storage = LocalStorage(tmp_path / "store")
    with RayExecutor(2, cluster.address) as executor:
        futures = [executor.submit(gray_task(clip, i), storage.spec()) for i in (0, 1)]
        assert [f.result(timeout=REACH_WITHIN).frames for f in futures] == [50, 50]
        found = listening()
    who = " ".join(process for _, process in found)
    assert len(set(re.findall(r'"raylet",pid=(\d+)', who))) == 2, found  # both nodes
    assert '"gcs_server"' in who and '"ray::' in who, found  # the head's store, and workers
    assert {address for address, _ in found} <= {LOOPBACK, f"[::ffff:{LOOPBACK}]"}, found


def test_a_filter_job_on_ray_gives_the_local_backends_frames(
    cluster: RayCluster, small_clip: Path, local_facts: VideoFacts, tmp_path: Path
) -> None:
    # Items in the job folder, which the nodes share here (test_ray_objects: the default store).
    out = tmp_path / "ray.mp4"
    ray = ("--backend", "ray", "--backend-opt", f"address={cluster.address}", "--backend-opt", "storage=job")
    events = run_cli("filter", str(small_clip), *JOB, *ray, "-o", str(out), jobs=tmp_path)
    got = facts(out)
    assert got.frames == local_facts.frames == 75
    assert got.frame_hashes == local_facts.frame_hashes
    [started] = [e for e in events if e["kind"] == "job_started"]
    assert started["executor"] == "ray" and started["workers"] == 2


def test_items_can_live_in_s3_compatible_storage(
    cluster: RayCluster,
    small_clip: Path,
    local_facts: VideoFacts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.server import ThreadedMotoServer

    from sprocket_cli.storage.s3 import S3Storage

    # Started from this thread, so in the namespace, where the nodes reach it.
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        stand_in = AwsStandIn(f"http://{host}:{port}")
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        s3_client().create_bucket(Bucket="farm")
        out = tmp_path / "ray.mp4"
        ray = (
            "--backend", "ray", "--backend-opt", f"address={cluster.address}",
            "--backend-opt", "storage=s3://farm/renders", "--backend-opt", f"env={','.join(stand_in.env())}",
        )  # fmt: skip
        run_cli("filter", str(small_clip), *JOB, *ray, "-o", str(out), jobs=tmp_path)
        stored = S3Storage("farm").list("renders/jobs/")
    finally:
        server.stop()
    assert facts(out).frame_hashes == local_facts.frame_hashes
    segments = sorted(key.rpartition("/")[2] for key in stored if re.search(r"/stream/seg_\d+\.m4s$", key))
    assert segments == ["seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"]  # the workers wrote to S3
    assert not list((tmp_path / "jobs").rglob("*.m4s"))  # and none through the job folder


def test_more_workers_than_the_cluster_has_cpus_are_capped(cluster: RayCluster) -> None:
    with RayExecutor(64, cluster.address) as ex:
        assert ex.workers == 2 and ex.threads_per_task() == 1
        assert ex.capped == "--workers 64 capped to 2: the Ray cluster has 2 CPUs"


def test_no_cluster_at_the_address_fails_at_once_in_one_line(small_clip: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind((LOOPBACK, 0))
        address = f"{LOOPBACK}:{probe.getsockname()[1]}"
        started = time.monotonic()
        ray = ["--backend", "ray", "--backend-opt", f"address={address}"]
        result = runner.invoke(app, ["filter", str(small_clip), "--vf", VF, *ray])
    assert result.exit_code == 2, result.output
    hint = "start one with `ray start --head`, or name its head with --backend-opt address=HOST:PORT"
    assert f"no Ray cluster at {address} (Connection refused): {hint}" in result.output
    assert time.monotonic() - started < 30  # Ray itself would retry for minutes


def test_the_backends_options_are_checked_when_it_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        OptionError, match="ray takes storage=object, storage=job or storage=s3://BUCKET/PREFIX, not 'nfs:/x'"
    ):
        open_backend("ray", {"storage": "nfs:/x"})
    monkeypatch.delenv("SPROCKET_NOT_SET", raising=False)
    with pytest.raises(OptionError, match="ray's env names SPROCKET_NOT_SET, not set here"):
        open_backend("ray", {"env": "PATH,SPROCKET_NOT_SET"})
    assert open_backend("ray", {"env": "PATH"}).env == {"PATH": os.environ["PATH"]}


def _task_running_on(raylet: int) -> bool:
    """Whether a Ray worker of the node whose raylet is ``raylet`` is running a task."""
    try:
        children = psutil.Process(raylet).children()
    except psutil.NoSuchProcess:
        return False
    return any(_title(child).startswith("ray::_run") for child in children)


def _title(process: psutil.Process) -> str:
    """The process's title (Ray names a busy worker after its task's function)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def test_a_worker_node_killed_mid_job_costs_only_its_tasks(
    cluster: RayCluster, small_clip: Path, local_facts: VideoFacts, tmp_path: Path
) -> None:
    # Every chunk's first attempt stalls 3 s before its work: the node dies while it runs one.
    stall = tuple(Fault(chunk=i, sleep=3.0) for i in range(3))
    options = JobOptions(
        workers=2,
        chunk_seconds=1.0,
        job_parent=tmp_path / "jobs",
        backend="ray",
        backend_options=(("address", cluster.address),),
        faults=stall,
    )
    spec = builtin_pipelines.load("filter", {"filter": {"vf": VF}, "encode": {"crf": 0}})
    out = tmp_path / "ray.mp4"
    handle = start(JobRequest(spec, {"input_0": str(small_clip)}, {"output_0": out}, options))
    events: list[Event] = []
    failed: list[BaseException] = []

    def read() -> None:
        try:
            events.extend(handle.events())
        except BaseException as exc:  # the assert below shows it
            failed.append(exc)

    # Read on a thread, so that this one watches the node; started here, so it is in the namespace.
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    [node] = cluster.workers
    raylet = cluster.raylet_pid(node)
    deadline = time.monotonic() + REACH_WITHIN
    while not _task_running_on(raylet) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _task_running_on(raylet), "no task ran on the worker node"
        cluster.kill_worker(node)
        reader.join(REACH_WITHIN)
        assert not reader.is_alive(), "the job did not end after the node died"
        assert not failed, failed
    finally:
        cluster.add_worker()  # for the tests after this one
    lost = [e for e in events if isinstance(e, TaskFailed)]
    assert lost and all(e.will_retry for e in lost)
    reran = {e.task_id for e in events if isinstance(e, TaskFinished) and e.attempt == 2}
    assert {e.task_id for e in lost} <= reran
    got = facts(out)
    assert got.frames == local_facts.frames and got.frame_hashes == local_facts.frame_hashes
