"""``--ray-address`` on the job commands: the ray backend's ``address`` setting as a flag of its
own, as `sprocket plan` has it. It reaches the backend (a port nothing listens on is named in
the error), goes only with ``--backend ray``, and may not contradict ``--backend-opt address=``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


@pytest.fixture
def nowhere() -> Iterator[str]:
    """HOST:PORT of a port bound on 127.0.0.1 that nothing listens on: connections are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{held.getsockname()[1]}"


def filter_args(clip: Path, out: Path, *more: str) -> list[str]:
    jobs = str(out.parent / "jobs")
    return ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--job-dir", jobs, *more]


@pytest.mark.parametrize("command", ["filter", "blend", "find-face", "run", "stabilize"])
def test_every_job_command_teaches_it(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--ray-address" in result.output and "HOST:PORT or auto" in result.output


def test_it_names_the_cluster_the_ray_backend_connects_to(clip: Path, tmp_path: Path, nowhere: str) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, filter_args(clip, out, "--backend", "ray", "--ray-address", nowhere))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: no Ray cluster at {nowhere} (Connection refused): "), line
    assert not out.exists()


def test_the_same_address_both_ways_is_one_cluster(clip: Path, tmp_path: Path, nowhere: str) -> None:
    out = tmp_path / "out.mp4"
    both = ("--backend", "ray", "--ray-address", nowhere, "--backend-opt", f"address={nowhere}")
    result = runner.invoke(app, filter_args(clip, out, *both))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: no Ray cluster at {nowhere} "), result.stderr


def test_two_addresses_are_refused_in_one_line(clip: Path, tmp_path: Path, nowhere: str) -> None:
    out = tmp_path / "out.mp4"
    both = ("--backend", "ray", "--ray-address", nowhere, "--backend-opt", "address=auto")
    result = runner.invoke(app, filter_args(clip, out, *both))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: --ray-address {nowhere} and --backend-opt address=auto name two clusters: give one"
    )
    assert not out.exists() and not (tmp_path / "jobs").exists()


@pytest.mark.parametrize("backend", ["local", "lambda"])
def test_another_backend_refuses_it_in_one_line(clip: Path, tmp_path: Path, backend: str) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, filter_args(clip, out, "--backend", backend, "--ray-address", "auto"))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: --ray-address goes with --backend ray, not --backend {backend}"
    assert not out.exists() and not (tmp_path / "jobs").exists()
