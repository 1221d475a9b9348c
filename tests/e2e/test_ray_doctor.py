"""``sprocket doctor --backend ray`` on the real loopback cluster (tests/raycluster.py): a healthy
cluster passes with a line per node; so do nodes with another sprocket installed, or none, whose
tasks run the sprocket the job ships (executors/ray_runtime.py); no cluster and a node whose
ffmpeg lacks libx264 each fail in one line, with no traceback; so do a node with another Ray
or Python, and one whose Python puts another sprocket before the job's.

The other nodes are real nodes installed differently, joined to the cluster for one test:
- another sprocket: the node's PYTHONPATH puts a copy of this sprocket's code with another
  version number first, as a machine with an older release installed would have. The doctor's
  probe reads the version and code stamp of whatever sprocket a task imports there; nothing in
  the doctor knows it is being tested.
- no sprocket: the node's Python starts without the editable-install finder that makes sprocket
  importable here (tests/raycluster.py's ``without_sprocket``).
- another Ray or Python cannot be a node here (this machine has one of each, and Ray refuses a
  node of another version at ``ray start``): the doctor's verdict on a probe's answers from one
  is checked on those answers.
- no libx264: the node's SPROCKET_FFMPEG (which sprocket honours on every machine) names a
  wrapper around the real ffmpeg that leaves libx264 out of its encoder listing, as an ffmpeg
  built without it lists its encoders. Building such an ffmpeg here would take an hour.
"""

from __future__ import annotations

import re
import shutil
import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sprocket_cli
from sprocket_cli import stamp
from sprocket_cli.backends import ray_doctor
from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.raycluster import LOOPBACK, RayCluster, without_sprocket

pytestmark = pytest.mark.timeout(240)
runner = CliRunner()
OTHER_VERSION = "0.0.9"


def doctor(address: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["doctor", "--backend", "ray", "--backend-opt", f"address={address}"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def node_lines(lines: list[str]) -> list[str]:
    """The per-node lines about versions (not ffmpeg)."""
    return [line for line in lines if re.match(r"^. node 127\.0\.0\.1 [0-9a-f]{8}( \(head\))?: ", line)]


def test_a_healthy_cluster_passes_with_a_line_per_node(cluster: RayCluster) -> None:
    code, lines = doctor(cluster.address)
    assert code == 0, lines
    here = stamp.code_stamp()
    nodes = node_lines(lines)
    assert len(nodes) == 2 and sum("(head)" in line for line in nodes) == 1, lines
    assert all(
        line.startswith("✓") and f"sprocket {here} (the job's), Ray " in line and "1 CPUs, 0 GPUs" in line
        for line in nodes
    )
    ffmpegs = [line for line in lines if " ffmpeg: " in line]
    assert len(ffmpegs) == 2 and all(line.startswith("✓") and ": libx264, aac" in line for line in ffmpegs), (
        lines
    )
    assert f"✓ cluster: {cluster.address}: 2 nodes" in lines[0]
    assert any(re.match(r"^[✓!] resources: \d of 2 CPUs free, 0 of 0 GPUs free", line) for line in lines), (
        lines
    )
    assert not [line for line in lines if line.startswith("✗")]


def test_no_cluster_at_the_address_is_one_line(cluster: RayCluster) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind((LOOPBACK, 0))
        address = f"{LOOPBACK}:{probe.getsockname()[1]}"
        code, lines = doctor(address)
    assert code == 1
    assert lines == [
        f"✗ cluster: no Ray cluster at {address} (Connection refused): start one with `ray start --head`, "
        "or name its head with --backend-opt address=HOST:PORT"
    ]


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


def another_sprocket(install: Path) -> Path:
    """A copy of this sprocket's code with another version number in ``install``."""
    shutil.copytree(
        Path(sprocket_cli.__file__).parent,
        install / "sprocket_cli",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    init = install / "sprocket_cli" / "__init__.py"
    init.write_text(
        init.read_text().replace(
            f'__version__ = "{sprocket_cli.__version__}"', f'__version__ = "{OTHER_VERSION}"'
        )
    )
    return install


def test_nodes_with_another_sprocket_or_none_pass_on_the_jobs(cluster: RayCluster, tmp_path: Path) -> None:
    install = another_sprocket(tmp_path / "site")
    with (
        cluster.extra_node({"PYTHONPATH": str(install)}),
        cluster.extra_node(without_sprocket(tmp_path / "bare")),
    ):
        code, lines = doctor(cluster.address)
    assert code == 0, "\n".join(lines)
    nodes = node_lines(lines)
    assert len(nodes) == 4, lines
    assert all(
        line.startswith("✓") and f"sprocket {stamp.code_stamp()} (the job's)" in line for line in nodes
    )
    assert not failures(lines)


def test_a_node_whose_tasks_would_run_another_sprocket_fails_in_one_line(
    cluster: RayCluster, tmp_path: Path
) -> None:
    """A node whose Python puts another sprocket before everything else on its path, the job's
    shipped copy included (a ``sitecustomize`` inserting it first, as a site's own Python
    setup might): its tasks would run that one, so the doctor fails it."""
    install = another_sprocket(tmp_path / "site")
    (install / "sitecustomize.py").write_text(f"import sys\nsys.path.insert(0, {str(install)!r})\n")
    with cluster.extra_node({"PYTHONPATH": str(install)}) as node:
        code, lines = doctor(cluster.address)
    assert code == 1, lines
    [failed] = failures(lines)
    said = f"✗ node {LOOPBACK} {node.node_id[:8]}: tasks import sprocket {OTHER_VERSION}+"
    assert failed.startswith(said), lines
    assert f"not the job's {stamp.code_stamp()}" in failed, failed
    assert failed.endswith(f"fix: {ray_doctor.FIX_SHADOWED}"), failed


def test_a_node_with_another_ray_or_python_fails_in_one_line() -> None:
    import platform

    import ray

    node = {"Resources": {"CPU": 1.0}}
    here = {"ray": ray.__version__, "python": platform.python_version(), "platform": ray_doctor._platform()}
    same = ray_doctor._versions("node", node, {**here, "sprocket": stamp.code_stamp()})
    assert same.status == "pass", same
    major, minor, *_ = platform.python_version_tuple()
    other_python = f"{major}.{int(minor) + 1}.0"
    for wrong, said in (
        ({"ray": "2.0.0"}, f"Ray 2.0.0, this machine runs {ray.__version__}"),
        ({"python": other_python}, f"Python {other_python}, this machine runs {platform.python_version()}"),
        ({"platform": "darwin-arm64"}, f"a darwin-arm64 machine; the job ships this {here['platform']}"),
    ):
        # A node of another Ray or Python imports no sprocket from the job: those come first.
        check = ray_doctor._versions("node", node, {**here, **wrong, "sprocket_error": "ImportError: x"})
        assert check.status == "fail" and check.detail.startswith(said), check
        assert "\n" not in check.detail


def test_a_node_whose_ffmpeg_lacks_libx264_fails_in_one_line(cluster: RayCluster, tmp_path: Path) -> None:
    wrapper = tmp_path / "ffmpeg-without-x264"
    # grep's status is the wrapper's: 0 while any line is left, which a listing always has.
    wrapper.write_text(f'#!/bin/sh\n"{ffmpeg_exe()}" "$@" | grep -v " libx264 "\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    with cluster.extra_node({"SPROCKET_FFMPEG": str(wrapper)}) as node:
        code, lines = doctor(cluster.address)
    assert code == 1, lines
    [failed] = failures(lines)
    assert failed.startswith(
        f"✗ node {LOOPBACK} {node.node_id[:8]} ffmpeg: {wrapper} lacks libx264  fix: "
    ), lines
    assert "aac" not in failed.partition("fix:")[0]  # only what is missing is named
