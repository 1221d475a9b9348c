"""Pipespecs that ship with Sprocket, one JSON file each."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sprocket_cli.errors import UsageError
from sprocket_cli.pipeline.pipespec import Pipespec, load_file

FOLDER = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def path(name: str) -> Path:
    p = FOLDER / f"{name}.json"
    if not p.is_file():
        raise UsageError(f"unknown pipeline {name!r}; built-in: {', '.join(names())}")
    return p


def description(name: str) -> str:
    return str(json.loads(path(name).read_text(encoding="utf-8")).get("description", ""))


def load(name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Pipespec:
    """The built-in pipeline ``name``, validated, with ``overrides`` applied to node configs."""
    return load_file(path(name), overrides)
