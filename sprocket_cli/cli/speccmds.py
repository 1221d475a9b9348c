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


@boundary
def pipelines_cmd() -> None:
    """List the built-in pipelines with a one-line description each."""
    import builtin_pipelines

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("pipeline")
    table.add_column("description")
    table.add_column("file", style="dim")
    for name in builtin_pipelines.names():
        table.add_row(name, builtin_pipelines.description(name), str(builtin_pipelines.path(name)))
    out.print(table)


@boundary
def backends_cmd() -> None:
    """List the installed backends and their settings: where tasks run, and what each takes."""
    from sprocket_cli.backends import backend_class, backend_names

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("backend")
    table.add_column("description")
    table.add_column("--backend-opt KEY=VALUE", style="dim")
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
