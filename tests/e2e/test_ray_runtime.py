"""The job's runtime environment brings sprocket to the nodes (executors/ray_runtime.py): on the
real loopback cluster (tests/raycluster.py), a worker node whose Python cannot import sprocket
runs a filter job's tasks and gives the local backend's frames, importing the copy the job
shipped, not an installed one; a second job names the dependencies' packages from the cache and
uploads nothing.

The node without sprocket is a real node of this machine whose Python starts without
setuptools' editable-install finder (tests/raycluster.py's :func:`without_sprocket`): sprocket
is installed here editable, so that finder is all that makes it importable, and without it this
node's Python finds no ``sprocket_cli``, as a machine with only Python and Ray would. The test
checks that first, with a task outside the job's runtime environment. Ray also puts the
driver's working folder first on its workers' path; the test works in its own temporary folder,
so that a checkout there cannot stand in for the shipped copy either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.executors.ray_cluster import connect, disconnect, node_name
from tests.media_checks import facts
from tests.raycluster import LOOPBACK, RayCluster, without_sprocket

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()

#: Lossless x264, so that the decoded frames are the filter's whatever threads each encoder had.
JOB = ("--vf", "hue=s=0,tmix=frames=3", "--crf", "0", "-w", "2", "--chunk-seconds", "1")
#: Where Ray unpacks a job's ``py_modules`` on a node.
SHIPPED = "/runtime_resources/py_modules_files/"
WITHIN = 120.0


def on_node(node_id: str, runtime_env: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where a task on node ``node_id`` imports sprocket from and finds its metadata (None each
    when it cannot), and its SPROCKET_TEST_MARK."""

    def where() -> dict[str, Any]:  # nested: pickled by value, as this module is not on the node
        import importlib.metadata
        import importlib.util
        import os

        spec = importlib.util.find_spec("sprocket_cli")
        try:
            # The metadata folder a task finds first, with the stages' entry points.
            metadata = str(importlib.metadata.distribution("sprocket")._path)  # type: ignore[attr-defined]
        except importlib.metadata.PackageNotFoundError:
            metadata = None
        return {
            "package": spec.origin if spec else None,
            "metadata": metadata,
            "env": os.environ.get("SPROCKET_TEST_MARK"),
        }

    options: dict[str, Any] = {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False)}
    if runtime_env is not None:
        options["runtime_env"] = runtime_env
    probe = ray.remote(num_cpus=0, max_retries=0)(where)
    found: dict[str, Any] = ray.get(probe.options(**options).remote(), timeout=WITHIN)
    return found


def run_filter(clip: Path, out: Path, *more: str) -> list[dict[str, Any]]:
    args = ["filter", str(clip), *JOB, *more, "-o", str(out), "--json", "--job-dir", str(out.parent / "jobs")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_a_node_without_sprocket_runs_the_job_on_the_shipped_copy(
    cluster: RayCluster,
    small_clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # Ray puts the driver's folder on its workers' path
    local = tmp_path / "local.mp4"
    run_filter(small_clip, local)
    with cluster.extra_node(without_sprocket(tmp_path / "site"), resources={"bare": 1}) as bare:
        # Outside the job's runtime environment, that node has no sprocket.
        ray.init(address=cluster.address)
        try:
            assert on_node(bare.node_id)["package"] is None
        finally:
            ray.shutdown()

        # The filter tasks need the resource only that node has: all of them run there.
        remote = tmp_path / "ray.mp4"
        on_ray = ("--backend", "ray", "--ray-address", cluster.address)
        events = run_filter(small_clip, remote, *on_ray, "--backend-opt", "resources=filter=bare:1")
        ran = {e["node"] for e in events if e["kind"] == "task_finished"}
        assert ran == {node_name(LOOPBACK, bare.node_id)}, events

        # What the job's tasks import there: the copy, and the metadata, that the job shipped;
        # a task's own env_vars (the backend's ``env`` setting) come on top of them.
        connect(cluster.address)
        try:
            found = on_node(bare.node_id, {"env_vars": {"SPROCKET_TEST_MARK": "1"}})
        finally:
            disconnect()
    assert SHIPPED in found["package"] and found["package"].endswith("/sprocket_cli/__init__.py"), found
    assert SHIPPED in found["metadata"], found
    assert found["env"] == "1"
    got, want = facts(remote), facts(local)
    assert got.frames == want.frames == 75
    assert got.frame_hashes == want.frame_hashes


def test_a_second_job_names_the_packages_from_the_cache_and_uploads_nothing(
    cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naming a package reads its files whole (the ffmpeg binary: ~165 MB): a job hashes the
    dependencies only when the user's cache does not name them yet, and a package the cluster
    holds is not put there again. Sprocket's own folder, small and what a checkout changes, is
    hashed every job."""
    from sprocket_cli.executors import ray_cluster, ray_runtime

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty cache
    shipped = [str(path) for path in ray_runtime.shipped()]
    jobs = []
    for _ in range(2):
        connect(cluster.address)
        try:
            jobs.append(ray_cluster.shipment)
            found = on_node(ray.get_runtime_context().get_node_id())
        finally:
            disconnect()
        assert SHIPPED in found["package"], found  # each job's tasks run the shipped copy
    first, second = jobs
    assert first is not None and second is not None
    assert list(first.hashed) == shipped  # the cache named nothing
    assert list(second.hashed) == shipped[:2]  # sprocket_cli and its metadata
    assert ray_runtime.cache_path().is_file()
    assert second.uploaded == () and second.env == first.env
    assert all(uri.startswith("gcs://_ray_pkg_") for uri in second.env["py_modules"])


def test_the_shipped_dependencies_are_the_worker_paths() -> None:
    """What a node gets beside sprocket: the worker path's dependencies as installed here, and
    nothing a node has with Ray or that only the CLI and the coordinator use."""
    from sprocket_cli.executors.ray_runtime import shipped, worker_dependencies

    deps = worker_dependencies()
    assert {"pydantic", "pydantic-core", "ffmpeg-python", "imageio-ffmpeg", "boto3", "botocore"} <= deps
    assert not deps & {"ray", "requests", "typer", "rich", "textual", "av", "yt-dlp", "sprocket"}
    modules = shipped()
    assert all(m.is_absolute() and m.exists() for m in modules)
    assert {m.name for m in modules} >= {"sprocket_cli", "pydantic", "pydantic_core", "imageio_ffmpeg"}
