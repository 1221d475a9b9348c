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
        "sprocket_cli.pipespec",
        "sprocket_cli.planner",
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


def test_import_linter_contract_holds() -> None:
    root = Path(__file__).resolve().parents[2]  # where pyproject.toml holds the contracts
    result = subprocess.run(["lint-imports"], capture_output=True, text=True, check=False, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
