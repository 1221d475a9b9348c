"""The one error boundary: domain errors become one line on stderr and an exit code."""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from sprocket_cli.errors import OptionError, PipespecError, SprocketError

if TYPE_CHECKING:
    from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def err_console() -> Console:
    """Where errors go. Made on the first error: importing Rich's console (~20 ms) would add
    a fifth to `sprocket --version`, and a command that succeeds never needs it."""
    from rich.console import Console

    # No emoji codes: ":a:" in a map such as 0:a:7 is one, and would print as a picture.
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


#: Set by the global ``--debug`` flag: errors are re-raised with their traceback.
DEBUG = {"on": False}

#: Exit code after Ctrl-C, as shells use for SIGINT.
INTERRUPTED = 130
#: Exit code when the operating system refuses a file operation (disk full, read-only).
OS_ERROR = 9


#: Core option names whose flag is not ``--`` plus the name with dashes.
FLAGS = {"audio_filters": "--af", "job_parent": "--job-dir"}


def flag(option: str) -> str:
    """The flag a user types for the core's ``option``: the core knows no flag names."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def message(exc: SprocketError) -> str:
    """``exc`` in the user's words."""
    return f"{flag(exc.option)} {exc.problem}" if isinstance(exc, OptionError) else str(exc)


def boundary(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SprocketError as exc:
            if DEBUG["on"]:
                raise
            if isinstance(exc, PipespecError) and len(exc.problems) > 1:
                err_console().print(f"[red]error:[/] {exc.source}: {len(exc.problems)} problems")
                for problem in exc.problems:
                    err_console().print(f"  - {problem}", markup=False)
            else:
                err_console().print("[red]error:[/] ", end="")
                err_console().print(message(exc), markup=False)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # the disk, not our logic: full, read-only, gone
            if DEBUG["on"]:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            hint = (
                " (disk full: free space or choose another --job-dir / -o)"
                if exc.errno == errno.ENOSPC
                else ""
            )
            err_console().print("[red]error:[/] ", end="")
            err_console().print(f"{where}{exc.strerror or exc}{hint}", markup=False)
            raise typer.Exit(OS_ERROR) from None
        except KeyboardInterrupt:
            if DEBUG["on"]:
                raise
            err_console().print("[yellow]interrupted[/]: the job folder keeps what was done")
            sys.stderr.flush()
            raise typer.Exit(INTERRUPTED) from None

    return wrapper
