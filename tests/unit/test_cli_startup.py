"""The CLI starts light: a command's module (and the core behind it) loads only when it runs."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import COMMANDS, app, load_command

HEAVY = ("boto3", "textual", "numpy", "yt_dlp", "av", "pydantic", "sprocket_cli.launch", "tui")


def test_importing_the_cli_loads_no_command_and_no_heavy_library() -> None:
    probe = "import sys, sprocket_cli.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
                 .stdout.split())  # fmt: skip
    assert not [m for m in HEAVY if m in loaded]
    assert not [m for m in loaded if m.startswith("sprocket_cli.cli.") and m.endswith(("cmd", "cmds"))]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_line_starts_its_commands_own_help(name: str) -> None:
    module, function, line = COMMANDS[name]
    doc = inspect.getdoc(getattr(importlib.import_module(f"sprocket_cli.cli.{module}"), function)) or ""
    assert " ".join(doc.split()).startswith(line)
    assert load_command(name).name == name


def test_help_lists_every_command_and_a_command_shows_its_own_options() -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["--help"])
    assert listing.exit_code == 0
    assert all(name in listing.output for name in COMMANDS)
    own = runner.invoke(app, ["filter", "--help"])
    assert own.exit_code == 0 and "--no-split-fallback" in own.output
    unknown = runner.invoke(app, ["filtr"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output
