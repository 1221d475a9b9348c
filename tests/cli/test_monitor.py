"""``sprocket monitor`` and ``--tui``: what cannot work fails in one line before any screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["monitor"], "no jobs yet"),
        (["monitor", "nosuch"], "nosuch: no such job"),
        (["monitor", "--at", "3"], "--at replays one job"),
        (["filter", "in.mp4", "--vf", "hue=s=0", "--tui", "--json"], "--tui and --json do not go together"),
    ],
)
def test_one_line_errors(args: list[str], message: str, clip: Path) -> None:
    args = [str(clip) if a == "in.mp4" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
