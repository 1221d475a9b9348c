"""A full disk: a clear one-line error, a non-zero exit, and nothing half-written left."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


@pytest.fixture
def tiny_disk(tmpfs: Callable[[str], Path]) -> Path:
    """A 96 KiB file system: too small for any output."""
    return tmpfs("size=96k")


def test_output_on_a_full_disk(clip: Path, tmp_path: Path, tiny_disk: Path) -> None:
    out = tiny_disk / "out.mp4"
    result = runner.invoke(
        app, ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--job-dir", str(tmp_path / "jobs")]
    )
    assert result.exit_code != 0
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert list(tiny_disk.iterdir()) == []  # no partial output, no temporary


def test_job_folder_on_a_full_disk(clip: Path, tmp_path: Path, tiny_disk: Path) -> None:
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "out.mp4"), "--retries", "0",
         "--job-dir", str(tiny_disk)],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.mp4").exists()
