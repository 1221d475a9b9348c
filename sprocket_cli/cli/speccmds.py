"""``sprocket pipelines``, ``backends`` and ``validate``: what is installed, and whether a spec is sound.

The pipelines, the pipespec model and the planner are imported when a command runs, not for
its help. Rich is not deferred: Typer's help has loaded its console and tables already.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sprocket_cli.cli.boundary import boundary

out = Console(highlight=False)


def _listing(*columns: str) -> Table:
    """A borderless table whose last column (a detail) is dimmed."""
    table = Table(box=None, show_header=True, header_style="bold")
    for column in columns[:-1]:
        table.add_column(column)
    table.add_column(columns[-1], style="dim")
    return table


@boundary
def pipelines_cmd(
    all_names: Annotated[
        bool,
        typer.Option(
            "--all", help="Also list the stages, with the original Sprocket's stage names each reads."
        ),
    ] = False,
) -> None:
    """List the built-in pipelines with a one-line description each."""
    import builtin_pipelines

    table = _listing("pipeline", "description", "file")
    for name in builtin_pipelines.names():
        table.add_row(name, builtin_pipelines.description(name), str(builtin_pipelines.path(name)))
    out.print(table)
    if all_names:
        out.print(_stages())


def _stages() -> Table:
    """Every installed stage, and the original Sprocket's stage names read as it."""
    from sprocket_cli.pipeline.aliases import originals
    from sprocket_cli.pipeline.registry import STAGE_GROUP, installed, stage_class

    names = originals()
    table = _listing("stage", "description", "the original's names")
    for name in sorted(installed(STAGE_GROUP)):
        table.add_row(name, stage_class(name).DESCRIPTION, ", ".join(names.get(name, [])))
    for ours, what in (
        ("decode -> filter -> encode", "one original stage: chunks in, chunks out"),
        ("", "dissolves: the job chunks its inputs itself"),
        ("refused", "no meaning here: `sprocket validate` says why"),
    ):
        table.add_row(f"({ours or 'none'})", what, ", ".join(names.get(ours, [])))
    return table


@boundary
def backends_cmd() -> None:
    """List the installed backends and their settings: where tasks run, and what each takes."""
    from sprocket_cli.backends import backend_class, backend_names

    table = _listing("backend", "description", "--backend-opt KEY=VALUE")
    for name in backend_names():
        backend = backend_class(name)
        settings = "; ".join(f"{key}: {what}" for key, what in backend.OPTIONS.items()) or "-"
        table.add_row(name, backend.DESCRIPTION, settings)
    out.print(table)


@boundary
def validate_cmd(
    spec: Annotated[Path, typer.Argument(help="Pipespec JSON file (or a built-in pipeline name).")],
) -> None:
    """Check a pipespec and report every problem with its location (exit 3 if any)."""
    import builtin_pipelines
    from sprocket_cli.pipeline.pipespec import load_file
    from sprocket_cli.plan.fusion import plan

    path = spec if spec.exists() or spec.suffix == ".json" else builtin_pipelines.path(str(spec))
    physical = plan(load_file(path))
    groups = ", ".join(g.name for g in physical.groups)
    s = physical.spec
    out.print(
        f"[green]ok[/]: {path}: {len(s.nodes)} nodes, {len(s.streams)} streams; "
        f"inputs {', '.join(s.inputs)}; outputs {', '.join(s.outputs)}; tasks per chunk: {groups}"
    )
