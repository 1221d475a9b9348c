"""The ``sprocket`` command: parse, build a validated job, run it in the core, render events."""

from __future__ import annotations

from typing import Annotated

import typer

from sprocket_cli import __version__
from sprocket_cli.cli import (
    awscmds,
    blendcmd,
    facecmd,
    filterscmd,
    jobcmds,
    jobscmds,
    monitor,
    plancmd,
    speccmds,
    stabilizecmd,
)
from sprocket_cli.cli.boundary import DEBUG

app = typer.Typer(
    name="sprocket",
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


app.command("filter")(jobcmds.filter_cmd)
app.command("blend")(blendcmd.blend_cmd)
app.command("stabilize")(stabilizecmd.stabilize_cmd)
app.command("find-face")(facecmd.find_face_cmd)
app.command("run")(jobcmds.run_cmd)
app.command("demo")(jobcmds.demo_cmd)
app.command("serve")(jobcmds.serve_cmd)
app.command("plan")(plancmd.plan_cmd)
app.command("monitor")(monitor.monitor_cmd)
app.command("jobs")(jobscmds.jobs_cmd)
app.command("resume")(jobscmds.resume_cmd)
app.command("clean")(jobscmds.clean_cmd)
app.command("pipelines")(speccmds.pipelines_cmd)
app.command("validate")(speccmds.validate_cmd)
app.command("filters")(filterscmd.filters_cmd)
app.command("setup")(awscmds.setup_cmd)
app.command("teardown")(awscmds.teardown_cmd)
app.command("doctor")(awscmds.doctor_cmd)
