"""``sprocket jobs``, ``resume`` and ``clean``: the jobs on this machine and what is left of them."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary

if TYPE_CHECKING:
    from rich.console import Console

# The commands import what they use when they run: listing them or showing their help should
# not pay for Rich's console, the job records or the session.


@functools.cache
def out() -> Console:
    from rich.console import Console

    return Console(highlight=False)


STATE_STYLE = {
    "finished": "green",
    "failed": "red",
    "running": "cyan",
    "interrupted": "yellow",
    "cancelled": "yellow",
}


@boundary
def jobs_cmd(job_dir: opt.JobDir = None) -> None:
    """List jobs, newest first, with their state: finished, failed, cancelled, running or interrupted."""
    from rich.table import Table

    from sprocket_cli.jobs.records import all_jobs

    table = Table(box=None, header_style="bold")
    for col in ("job", "state", "tasks", "pipeline", "input", "output"):
        table.add_column(col)
    for job in all_jobs(job_dir):
        style = STATE_STYLE.get(job.state, "")
        r = job.record
        table.add_row(
            r.job_id,
            f"[{style}]{job.state}[/]",
            f"{job.tasks_done}/{job.tasks_total}",
            str(r.spec.get("name", "")),
            ", ".join(r.inputs.values()),
            ", ".join(r.outputs.values()),
        )
    if table.row_count:
        out().print(table)
    else:
        out().print("no jobs yet: start one with `sprocket filter` or `sprocket demo`")


@boundary
def resume_cmd(
    job: Annotated[str, typer.Argument(help="Job id (or a unique prefix of one), or job folder.")],
    job_dir: opt.JobDir = None,
    as_json: opt.Json = False,
) -> None:
    """Finish an interrupted or cancelled job without redoing the chunks it had finished."""
    from sprocket_cli.cli.render import render
    from sprocket_cli.jobs.records import find_job
    from sprocket_cli.session import resume

    render(resume(find_job(job, job_dir)).events(), as_json)


@boundary
def clean_cmd(
    job_dir: opt.JobDir = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Remove whole job folders (streams and journals too).")
    ] = False,
) -> None:
    """Free disk space: remove stopped jobs' intermediates and half-written files (with --all,
    the whole folders of finished and failed jobs)."""
    from sprocket_cli.jobs.leftovers import clean
    from sprocket_cli.jobs.records import all_jobs

    freed = 0
    count = 0
    for job in all_jobs(job_dir):
        if job.state == "running" or (everything and job.state in ("interrupted", "cancelled")):
            continue  # never pull files from under a job, nor lose one that can still resume
        freed += clean(job.job_dir, everything=everything)
        count += 1
    out().print(f"cleaned {count} jobs, freed {freed / 1e6:.1f} MB")
