"""``sprocket plan``: estimates from a calibrated simulation, before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


def test_plan_times_the_pipeline_and_prints_both_backends(clip: Path) -> None:
    result = runner.invoke(app, ["plan", str(clip), "--workers", "100"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(r"measured [\d.]+ frames/s per core", result.output)
    assert "lambda 3008 MB" in result.output and "local (" in result.output
    assert re.search(r"\$\d+\.\d{3}", result.output)
    assert "cold_invoke_s=0.006" in result.output  # the model's parameters are shown


def test_plan_streaming_reports_deadline_misses(clip: Path) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            str(clip),
            "--policy",
            "streaming",
            "--fps-per-core",
            "100",
            "--backend",
            "local",
            "-w",
            "2",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "misses" in result.output


def test_plan_rejects_an_unknown_backend(clip: Path) -> None:
    result = runner.invoke(app, ["plan", str(clip), "--backend", "gcp"])
    assert result.exit_code == 2 and "--backend" in result.output


def test_plan_for_a_video_that_is_not_here(tmp_path: Path) -> None:
    args = ["plan", "--duration", "10m", "--size", "640x360", "--fps", "30000/1001", "--workers", "50"]
    given = runner.invoke(app, [*args, "--fps-per-core", "100"], env={"COLUMNS": "200"})
    assert given.exit_code == 0, given.output
    assert "600.0s 640x360" in given.output and "given 100.0 frames/s per core" in given.output
    assert "lambda 3008 MB" in given.output and "local (" in given.output
    # Without a rate, the pipeline is timed on a clip made at that size and rate.
    timed = runner.invoke(app, ["plan", "--duration", "30s", "--size", "320x240"], env={"COLUMNS": "200"})
    assert timed.exit_code == 0, timed.output
    assert re.search(r"30\.0s 320x240.* measured [\d.]+ frames/s per core here", timed.output)


def test_plan_needs_a_video_or_a_duration() -> None:
    neither = runner.invoke(app, ["plan"])
    assert neither.exit_code == 2 and "give a VIDEO to plan for, or --duration" in neither.stderr
    bad = runner.invoke(app, ["plan", "--duration", "2x"])
    assert bad.exit_code == 2 and "--duration takes a length like 2h" in bad.stderr
