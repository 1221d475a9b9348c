"""Where a job's work ran, node by node, and ``--backend-opt resources=``: on the real loopback
Ray cluster (tests/raycluster.py) both nodes are 127.0.0.1, told apart by their Ray node ids."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sprocket_cli.cli import app, render
from sprocket_cli.events import JobFinished, JobStarted, event_from_dict
from sprocket_cli.executors.ray_cluster import node_name
from tests.facemedia import ASTRONAUT, BIDEN, FaceClip, Scene, make_face_clip
from tests.raycluster import LOOPBACK, RayCluster

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()

#: Two workers over three 1 s chunks.
FILTER = ("--vf", "hue=s=0", "-w", "2", "--chunk-seconds", "1")


def run_job(*args: str, tmp: Path, ray: RayCluster | None = None) -> list[dict[str, Any]]:
    """The job's ``--json`` events, on the local backend or on ``ray``'s cluster."""
    backend = ("--backend", "ray", "--backend-opt", f"address={ray.address}") if ray else ()
    out = ("-o", str(tmp / "out.mp4"), "--job-dir", str(tmp / "jobs"))
    result = runner.invoke(app, [*args, *backend, *out, "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    [last] = [e for e in events if e["kind"] == "job_finished"]
    return last


def test_a_local_job_has_one_node_this_machine(small_clip: Path, tmp_path: Path) -> None:
    done = finished(run_job("filter", str(small_clip), *FILTER, tmp=tmp_path))
    [(name, work)] = done["nodes"].items()
    assert name == socket.gethostname()
    assert work["worker_seconds"] == pytest.approx(done["worker_seconds"])
    assert work["tasks"] == done["invocations"] >= 3  # every task, on this machine


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    """Eileen Collins, nobody, Joe Biden, Eileen again: four scenes, a find_faces task each."""
    scenes = [Scene(ASTRONAUT, 1.2), Scene(None, 0.8), Scene(BIDEN, 1.2), Scene(ASTRONAUT, 1.2)]
    return make_face_clip(tmp_path_factory.mktemp("ray-nodes") / "play.mp4", scenes, keyint=25)


#: find-face's groups pinned by resources: scene cuts on the node with ``scenes``, face search
#: and drawing on the one with ``face``. Unpinned, which node runs what is Ray's choice: a node
#: whose worker started first may take every task of a short job.
PINNED = "resources=scene_change=scenes:1,find_faces=face:1,decode=face:1"


def test_pinned_stages_run_on_their_nodes_and_each_nodes_work_adds_up(
    cluster: RayCluster, face_clip: FaceClip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    face = ("--person", str(ASTRONAUT.path), "--chunk-seconds", "1", "-w", "2")
    with (
        cluster.extra_node(resources={"face": 1}) as faces,
        cluster.extra_node(resources={"scenes": 1}) as scenes,
    ):
        args = ("find-face", str(face_clip.path), *face, "--backend-opt", PINNED)
        events = run_job(*args, tmp=tmp_path, ray=cluster)
    face_node, scene_node = (node_name(LOOPBACK, n.node_id) for n in (faces, scenes))
    ran = [(e["group"], e["node"]) for e in events if e["kind"] == "task_finished"]
    for group, where in ran:  # both nodes at 127.0.0.1: told apart by their ids
        assert where == (scene_node if group == "scenes" else face_node), ran
    done = finished(events)
    nodes = done["nodes"]
    assert set(nodes) == {face_node, scene_node}
    assert sum(n["worker_seconds"] for n in nodes.values()) == pytest.approx(done["worker_seconds"])
    assert nodes[scene_node]["tasks"] == sum(group == "scenes" for group, _ in ran)
    assert sum(n["tasks"] for n in nodes.values()) == len(ran)
    assert all(n["cpus"] == 1 for n in nodes.values())  # each node's size, from Ray

    # The summary: a line per node.
    said = io.StringIO()
    monkeypatch.setattr(render, "console", Console(file=said, width=100))
    [started] = [event_from_dict(e) for e in events if e["kind"] == "job_started"]
    end = event_from_dict(done)
    assert isinstance(started, JobStarted) and isinstance(end, JobFinished)
    render.print_summary(started, end)
    lines = [line.strip() for line in said.getvalue().splitlines() if f"{LOOPBACK}/" in line]
    assert sorted(line.partition(":")[0] for line in lines) == sorted(nodes), said.getvalue()
    assert all(" worker-s, " in line and line.endswith(" frames/s, 1 CPU") for line in lines), lines


def test_a_resource_no_node_has_is_one_line_before_any_work(
    cluster: RayCluster, small_clip: Path, tmp_path: Path
) -> None:
    ray = ("--backend", "ray", "--backend-opt", f"address={cluster.address}")
    job_dir = tmp_path / "jobs"
    result = runner.invoke(
        app,
        ["filter", str(small_clip), *FILTER, *ray, "--backend-opt", "resources=filter=GPU:1",
         "-o", str(tmp_path / "out.mp4"), "--job-dir", str(job_dir)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: no node of the Ray cluster at {cluster.address} has GPU:1 for filter"
    ]
    assert not job_dir.exists() or not any(job_dir.iterdir())


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("finde_faces=GPU:1", "resources names 'finde_faces', not a stage"),
        ("find_faces=GPU", "resources takes STAGE=RESOURCE:AMOUNT"),
        ("find_faces=GPU:-1", "resources takes STAGE=RESOURCE:AMOUNT"),
        ("find_faces", "resources takes STAGE=RESOURCE:AMOUNT"),
    ],
)
def test_a_bad_resources_option_is_one_line_before_any_work(
    small_clip: Path, tmp_path: Path, value: str, says: str
) -> None:
    # No cluster at this address: the option is refused before Ray is reached.
    ray = ("--backend", "ray", "--backend-opt", "address=127.0.0.1:9", "--backend-opt", f"resources={value}")
    job_dir = tmp_path / "jobs"
    result = runner.invoke(
        app,
        ["filter", str(small_clip), *FILTER, *ray, "-o", str(tmp_path / "o.mp4"), "--job-dir", str(job_dir)],
    )
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert says in line and "Traceback" not in line
    assert not job_dir.exists()
