"""The core knows no screen; the Lambda handler imports only the worker path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCREEN = {"typer", "rich", "textual", "tui", "sprocket_cli.cli"}
HEAVY = SCREEN | {"boto3", "yt_dlp", "av"}


def _modules_after(import_line: str) -> set[str]:
    code = f"import sys, json; {import_line}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "module",
    [
        "sprocket_cli.run",
        "sprocket_cli.launch",
        "sprocket_cli.worker",
        "sprocket_cli.pipeline.pipespec",
        "sprocket_cli.plan.fusion",
        "sprocket_cli.executors.local",
        "builtin_pipelines",
    ],
)
def test_core_imports_no_screen(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert not {m for m in loaded if m.split(".")[0] in SCREEN or m.startswith("sprocket_cli.cli")}


def test_lambda_handler_imports_nothing_heavy() -> None:
    loaded = _modules_after("import lambda_bundle.handler")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m.startswith("sprocket_cli.cli")}


@pytest.mark.parametrize(
    "code",
    [
        "import sprocket_cli.cli",
        "from sprocket_cli.backends import backend_names; backend_names()",  # what --help lists
        "from sprocket_cli.backends import open_backend; open_backend('local').executor(1).close()",
        "from sprocket_cli.backends import open_backend; open_backend('ray', {'address': 'auto'})",
    ],
)
def test_ray_loads_only_when_the_ray_backend_opens_its_workers(code: str) -> None:
    assert "ray" not in _modules_after(code)


def test_import_linter_contract_holds() -> None:
    root = Path(__file__).resolve().parents[2]  # where pyproject.toml holds the contracts
    result = subprocess.run(["lint-imports"], capture_output=True, text=True, check=False, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_core_module_is_under_the_no_screen_contract() -> None:
    """A new module of the core is covered by the contract, or this test names it."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    covered = set(next(c for c in contracts if c["name"] == "The core knows no screen")["source_modules"])
    package = root / "sprocket_cli"
    core = {
        f"sprocket_cli.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p / "__init__.py").is_file()
    } - {"sprocket_cli.cli"}
    assert not sorted(core - covered), "add these to the contract in pyproject.toml"
