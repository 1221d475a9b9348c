"""The ``sprocket`` command: parse, build a validated job, run it in the core, render events.

Each command's module is imported only when that command runs or shows its own help, so
``sprocket --help`` and ``--version`` start in a fraction of the time importing every command
(and through them the whole core) would take.
"""

from __future__ import annotations

import functools
import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from sprocket_cli import __version__
from sprocket_cli.cli.boundary import DEBUG

#: Every command: (its module in sprocket_cli.cli, its function, the start of its docstring,
#: which `sprocket --help` lists; a test checks that they agree).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "filter": ("jobcmds", "filter_cmd", "Run any ffmpeg filter over a whole video, in parallel chunks"),
    "blend": ("blendcmd", "blend_cmd", "Superimpose B on A frame by frame"),
    "stabilize": ("stabilizecmd", "stabilize_cmd", "Steady a shaky video (ffmpeg's vid.stab)"),
    "find-face": ("facecmd", "find_face_cmd", "Find a person in a video"),
    "run": ("jobcmds", "run_cmd", "Run your own pipeline written in the pipespec language."),
    "demo": ("jobcmds", "demo_cmd", "Make a 720p test clip with audio (ffmpeg lavfi)"),
    "serve": ("jobcmds", "serve_cmd", "Serve a running or finished job's stream again on 127.0.0.1"),
    "plan": ("plancmd", "plan_cmd", "Estimate wall time, time to first segment, worker-seconds and dollars"),
    "monitor": ("monitor", "monitor_cmd", "Watch a job in the TUI"),
    "jobs": ("jobscmds", "jobs_cmd", "List jobs, newest first, with their state"),
    "resume": ("jobscmds", "resume_cmd", "Finish an interrupted or cancelled job"),
    "clean": ("jobscmds", "clean_cmd", "Free disk space"),
    "pipelines": ("speccmds", "pipelines_cmd", "List the built-in pipelines"),
    "backends": ("speccmds", "backends_cmd", "List the installed backends and their settings"),
    "validate": ("speccmds", "validate_cmd", "Check a pipespec and report every problem with its location"),
    "filters": ("filterscmd", "filters_cmd", "How ffmpeg filters run in chunks"),
    "setup": ("awscmds", "setup_cmd", "Deploy the Lambda worker"),
    "teardown": ("awscmds", "teardown_cmd", "Remove what sprocket setup created"),
    "doctor": ("awscmds", "doctor_cmd", "Check that jobs can run on Lambda"),
}


@functools.cache
def load_command(name: str) -> Any:  # a Click command, of whichever Click this Typer carries
    """The real command ``name``, built by Typer from its function (imported now)."""
    module, function, _ = COMMANDS[name]
    sub = typer.Typer(add_completion=False, rich_markup_mode="markdown", pretty_exceptions_enable=False)
    sub.command(name)(getattr(importlib.import_module(f"sprocket_cli.cli.{module}"), function))
    return typer.main.get_command(sub)


class LazyGroup(TyperGroup):
    """Lists every command from :data:`COMMANDS`; imports one only to run it (or show its help)."""

    # Contexts are typed Any: Typer 0.12 hands Click's, later ones those of the Click it carries.
    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> TyperCommand | None:
        if cmd_name not in COMMANDS:
            return None
        # For listings only: the group's help needs a name and a line, not the command.
        return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in COMMANDS:
            return args[0], load_command(args[0]), args[1:]
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # Typer draws help through typer.rich_utils, which first loads rich's Markdown
        # (markdown-it) and Syntax (Pygments): ~0.2 s before the first line shows. The command
        # list needs neither, so it is drawn here with rich's console, panels and tables, in
        # Typer's layout. (A command's own help is Typer's.)
        from rich import box
        from rich.console import Console
        from rich.padding import Padding
        from rich.panel import Panel
        from rich.table import Table

        console = Console(highlight=False)
        console.print(
            Padding(
                f"[yellow]Usage:[/] [bold]{ctx.command_path}[/] [OPTIONS] COMMAND [ARGS]...", (1, 1, 0, 1)
            )
        )
        for paragraph in (self.help or "").split("\n\n"):
            console.print(Padding(paragraph, (1, 1, 0, 1)), markup=False)
        console.print()
        for title, rows in (
            ("Options", [(", ".join(p.opts), getattr(p, "help", None) or "") for p in self.get_params(ctx)]),
            ("Commands", [(name, line) for name, (_, _, line) in COMMANDS.items()]),
        ):
            table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
            table.add_column(style="bold cyan", no_wrap=True)
            table.add_column(ratio=1)
            for row in rows:
                table.add_row(*row)
            console.print(Panel(table, title=title, title_align="left", border_style="dim", box=box.ROUNDED))

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        # The group's --help is unset (None) whenever a command follows it. Typer >= 0.20
        # coerces an unset flag through a pydantic TypeAdapter, which imports pydantic (~0.1 s)
        # for every `sprocket CMD`, --help included; False is Click's own default for a flag
        # and is never coerced. Help text and behaviour are the same either way.
        if option is not None and option.default is None:
            option.default = False
        return option


app = typer.Typer(
    name="sprocket",
    cls=LazyGroup,
    help=(
        "Cut a video at keyframes, run a pipeline over the chunks on parallel workers, "
        "and stream the result while the rest is still processing.\n\n"
        "Start with:  sprocket demo   (makes a test clip and turns it gray)"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstring paragraphs wrap to the terminal; blank lines split them
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sprocket {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    DEBUG["on"] = debug
