"""Report helpers of bench/scale_sim.py: headings, notes tables, and the simulated cloud's
parameters with where each value comes from."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap
from collections.abc import Sequence
from typing import Any

from sprocket_cli.executors.simulated import (
    INTERMEDIATE_READ_COST,
    INTERMEDIATE_WRITE_COST,
    STAGE_COST,
    CloudModel,
)
from sprocket_cli.plan.pricing import PRICE_DATE, PRICE_PER_GB_SECOND, PRICE_PER_REQUEST

WIDTH = 110


def field_notes(cls: type) -> dict[str, str]:
    """Field name -> the docstring under it in ``cls``'s source (where its value comes from)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
        return {}
    body = tree.body[0].body
    notes: dict[str, str] = {}
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            notes[stmt.target.id] = " ".join(nxt.value.value.split())
    return notes


def print_notes_table(rows: Sequence[tuple[str, str, str]], header: tuple[str, str, str]) -> None:
    """Name, value, and a free-text note wrapped to the page width."""
    w0 = max(len(r[0]) for r in [header, *rows])
    w1 = max(len(r[1]) for r in [header, *rows])
    indent = " " * (w0 + w1 + 4)
    print(f"{header[0]:<{w0}}  {header[1]:>{w1}}  {header[2]}")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * (WIDTH - len(indent))}")
    for name, value, note in rows:
        wrapped = textwrap.wrap(note, WIDTH - len(indent)) or [""]
        print(f"{name:<{w0}}  {value:>{w1}}  {wrapped[0]}".rstrip())
        for more in wrapped[1:]:
            print(indent + more)


def heading(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_model(model: CloudModel) -> None:
    heading("Simulated cloud (every table): CloudModel() defaults, stage costs, prices")
    notes = field_notes(CloudModel)
    rows = [
        (f.name, fmt_value(getattr(model, f.name)), notes.get(f.name, "")) for f in dataclasses.fields(model)
    ]
    rows.append(("(worker_vcpus)", f"{model.worker_vcpus:.3f}", "derived: cores each worker computes with"))
    print_notes_table(rows, ("parameter", "value", "source / note"))
    print()
    cost_rows = [(f"STAGE_COST[{k!r}]", f"{v:g}", "") for k, v in STAGE_COST.items()]
    cost_rows[0] = (cost_rows[0][0], cost_rows[0][1], "core-seconds per frame, as a share of fused time")
    cost_rows += [
        ("INTERMEDIATE_WRITE_COST", f"{INTERMEDIATE_WRITE_COST:g}", "writing a lossless (FFV1) intermediate"),
        ("INTERMEDIATE_READ_COST", f"{INTERMEDIATE_READ_COST:g}", "reading one back"),
    ]
    print_notes_table(cost_rows, ("cost", "value", "note"))
    print(
        "task compute = frames x (sum of its stages' costs + intermediate read/write) "
        "/ (fps_per_core x worker_vcpus)"
    )
    print()
    price_rows = [
        (f"PRICE_PER_GB_SECOND[{arch!r}]", f"{price:.10f}", "$ per GB-second of billed duration")
        for arch, price in PRICE_PER_GB_SECOND.items()
    ]
    price_rows.append(("PRICE_PER_REQUEST", f"{PRICE_PER_REQUEST:.10f}", "$ per invocation"))
    print_notes_table(price_rows, ("price (AWS Lambda, us-east-1)", "value", "note"))
    print(
        f"price date: {PRICE_DATE}; simulate() bills x86_64 at memory_mb = {model.memory_mb} "
        f"({model.memory_mb / 1024:.4f} GB) per worker-second"
    )
