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
