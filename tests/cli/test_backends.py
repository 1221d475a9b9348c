"""``--backend`` and ``--backend-opt``: the installed backends, found by name, each with the
settings it takes; a wrong one is refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


def test_backends_lists_the_installed_ones_but_not_the_simulation() -> None:
    result = runner.invoke(app, ["backends"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines()[1:] if line.strip()]
    assert {"local", "lambda"} <= set(names) and "simulated" not in names


def test_an_unknown_backend_names_the_installed_ones(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["filter", str(clip), "--vf", "null", "-o", str(out), "--backend", "lokal"])
    assert result.exit_code == 3
    assert "unknown backend 'lokal'; did you mean 'local'?; installed: " in result.stderr
    assert not out.exists() and not (tmp_path / "jobs").exists()


def test_a_setting_the_backend_does_not_take_is_refused_with_the_flag(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    args = ["filter", str(clip), "--vf", "null", "-o", str(out), "--backend-opt", "address=auto"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --backend local takes no option address (it takes: none)"
    assert not out.exists()
    malformed = runner.invoke(app, [*args[:-1], "address"])
    assert malformed.exit_code == 2 and "--backend-opt takes NAME=VALUE" in malformed.stderr
