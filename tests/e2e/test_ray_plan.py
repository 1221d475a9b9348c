"""``sprocket plan --backend ray`` on the real two-node loopback cluster (tests/raycluster.py):
the estimate counts the cluster's CPUs and rests on the pipeline timed on one of its nodes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.raycluster import NODE_CPUS, RayCluster

pytestmark = pytest.mark.timeout(240)
runner = CliRunner()


def test_plan_for_ray_counts_the_clusters_cpus_and_times_a_node(ray_cluster: RayCluster, clip: Path) -> None:
    with ray_cluster.network.inside():
        result = runner.invoke(
            app, ["plan", str(clip), "--backend", "ray", "--ray-address", ray_cluster.address, "-w", "16"]
        )
    assert result.exit_code == 0, result.output
    nodes = 1 + len(ray_cluster.workers)
    text = " ".join(result.output.split())  # as one line, however the console wrapped it
    said = re.search(r"(\d+) nodes, (\d+) CPUs; measured on a node ([\d.]+) frames/s per core", text)
    assert said is not None, result.output
    assert (int(said[1]), int(said[2])) == (nodes, nodes * NODE_CPUS)
    assert float(said[3]) > 0
    # The clip is on this machine only: the job would put it into the object store.
    staged = re.search(r"its video \(up to ([\d.]+) MB\) is put once into the Ray object store", text)
    assert staged is not None, result.output
    assert float(staged[1]) == round(clip.stat().st_size / 1e6, 1)
    # 16 workers asked for; the cluster runs one task per CPU.
    rows = [line.split() for line in result.output.splitlines()]
    [workers] = [row[1] for row in rows if row[:1] == ["ray"] and row[1].isdigit()]
    assert workers == str(nodes * NODE_CPUS)


def test_plan_for_ray_with_no_cluster_is_one_line(clip: Path) -> None:
    free = "127.0.0.1:9"  # discard: nothing listens there
    result = runner.invoke(app, ["plan", str(clip), "--backend", "ray", "--ray-address", free])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert f"no Ray cluster at {free}" in result.output
