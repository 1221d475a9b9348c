"""The CLI starts light: a command's module (and the core behind it) loads only when it runs.

These check which modules load, not how long it takes: bench/cli_startup.py times it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
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


#: What no `--help` may load: the core behind a job, the cloud, the TUI, decoders, downloads.
NOT_FOR_HELP = (
    *HEAVY,
    "botocore",
    "PIL",
    "ray",
    "builtin_pipelines",
    "rich.progress",
    "sprocket_cli.session",
    "sprocket_cli.backends",
    "sprocket_cli.run",
    "sprocket_cli.inputs",
)

#: Core modules a command's help may load beyond its own: what its options show. `plan --help`
#: names the scheduling policies; setup's shows the defaults of the AWS settings (not the
#: deploy code, nor boto3).
AWS_SETTINGS = {"sprocket_cli.aws", "sprocket_cli.aws.settings", "sprocket_cli.aws.errors"}
SHOWN_BY_HELP = {
    "plan": {"sprocket_cli.plan", "sprocket_cli.plan.scheduling"},
    "setup": AWS_SETTINGS,
    "teardown": AWS_SETTINGS,
    "doctor": AWS_SETTINGS,
}


def _loaded_by(*args: str) -> set[str]:
    """Every module `sprocket ARGS` has imported when it exits, in a fresh interpreter."""
    code = (
        "import atexit, json, sys; "
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)); "
        "from sprocket_cli.cli import app; app(prog_name='sprocket')"
    )
    env = {**os.environ, "COLUMNS": "100"}
    run = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stderr.splitlines()[-1]))


def _core(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] == "sprocket_cli"}


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in NOT_FOR_HELP if m in modules}


@pytest.fixture(scope="module")
def shared_options() -> set[str]:
    """The core modules the job commands' shared options need (their defaults live in jobs/)."""
    probe = "import json, sys, sprocket_cli.cli.options; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return _core(set(json.loads(out)))


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_the_command_list_load_no_command_and_none_of_the_core(args: list[str]) -> None:
    loaded = _loaded_by(*args)
    assert not _heavy(loaded)
    assert _core(loaded) <= {
        "sprocket_cli",
        "sprocket_cli.cli",
        "sprocket_cli.cli.boundary",
        "sprocket_cli.errors",
    }
    if args == ["--version"]:
        assert "rich" not in loaded  # nothing is drawn: the error console is made on the first error
    # The command list is drawn without Typer's help renderer, which loads Markdown and Pygments.
    assert not {"typer.rich_utils", "markdown_it", "pygments"} & loaded


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_commands_help_loads_its_module_and_the_shared_options_only(
    name: str, shared_options: set[str]
) -> None:
    module = COMMANDS[name][0]
    loaded = _loaded_by(name, "--help")
    assert not _heavy(loaded)
    extra = SHOWN_BY_HELP.get(name, set())
    assert (
        _core(loaded) - shared_options - extra
        == {"sprocket_cli.cli", f"sprocket_cli.cli.{module}"} - shared_options
    )
