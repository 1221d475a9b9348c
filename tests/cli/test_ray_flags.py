"""``--storage`` and ``--resources`` on the job commands: the ray backend's ``storage`` and
``resources`` settings as flags of their own, as ``--ray-address`` is its ``address``. Each
reaches the backend (its check of the value speaks), goes only with ``--backend ray``, and may
not contradict ``--backend-opt``. No cluster is needed: the values are checked before one is
reached."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.cli.test_ray_address import filter_args

runner = CliRunner()


@pytest.mark.parametrize("command", ["filter", "blend", "find-face", "run", "stabilize"])
def test_every_job_command_teaches_them(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--storage" in result.output and "s3://BUCKET/PREFIX" in result.output
    assert "--resources" in result.output and "STAGE=RESOURCE:AMOUNT" in result.output


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--storage", "nowhere", "--backend ray takes storage=object, storage=job or storage=s3://"),
        ("--resources", "find_faces", "--backend ray's resources takes STAGE=RESOURCE:AMOUNT"),
    ],
)
def test_the_value_reaches_the_ray_backend(
    clip: Path, tmp_path: Path, flag: str, value: str, says: str
) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, filter_args(clip, out, "--backend", "ray", flag, value))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {says}") and line.endswith(f"not '{value}'"), line
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "value", "setting", "other"),
    [("--storage", "job", "storage", "object"), ("--resources", "encode=CPU:2", "resources", "encode=CPU:1")],
)
def test_disagreeing_with_backend_opt_is_refused_in_one_line(
    clip: Path, tmp_path: Path, flag: str, value: str, setting: str, other: str
) -> None:
    both = ("--backend", "ray", flag, value, "--backend-opt", f"{setting}={other}")
    result = runner.invoke(app, filter_args(clip, tmp_path / "out.mp4", *both))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {flag} {value} and --backend-opt {setting}={other} name two "), line
    assert line.endswith(": give one") and not (tmp_path / "jobs").exists()


@pytest.mark.parametrize("flag", ["--storage", "--resources"])
def test_another_backend_refuses_them_in_one_line(clip: Path, tmp_path: Path, flag: str) -> None:
    result = runner.invoke(app, filter_args(clip, tmp_path / "out.mp4", flag, "job"))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {flag} goes with --backend ray, not --backend local"
