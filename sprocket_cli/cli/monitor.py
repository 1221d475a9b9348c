"""``sprocket monitor``: watch a job in the TUI, live or replayed from its journal.

The TUI, the job records and the stream server are imported when the command runs, not for
its help; a job command's ``--tui`` runs through :mod:`~sprocket_cli.cli.tuirun`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.errors import UsageError

#: Recent jobs offered by ``sprocket monitor`` when none is running.
RECENT = 50


@boundary
def monitor_cmd(
    job: Annotated[
        str | None,
        typer.Argument(help="Job id (or a unique prefix, or its folder). Default: the running job."),
    ] = None,
    at: Annotated[
        float | None,
        typer.Option("--at", min=0, help="Replay a finished job up to this many seconds into it."),
    ] = None,
    player: opt.Player = None,
    job_dir: opt.JobDir = None,
) -> None:
    """Watch a job in the TUI: per-worker progress, the chunk strip, stages, costs and errors.

    A running job is followed live (quitting leaves it running; c cancels it, p pauses it);
    a finished one is replayed from its journal. With no JOB, the running job is attached,
    or, if none runs, recent jobs are listed to pick from. Press ? in the TUI for the keys.
    """
    from sprocket_cli.cli.playback import choose_player
    from sprocket_cli.cli.tuirun import TuiPlayback
    from sprocket_cli.jobs.records import all_jobs, find_job, status
    from tui import JournalSource, make_app

    playback = TuiPlayback(choose_player(player))
    if job is not None:
        folder = find_job(job, job_dir)
        follow = status(folder).state == "running" and at is None
        app = make_app(JournalSource(folder, follow=follow, until=at), opener=playback)
    else:
        if at is not None:
            raise UsageError("--at replays one job: name it, as in `sprocket monitor JOB --at 30`")
        jobs = list(all_jobs(job_dir))
        running = [j for j in jobs if j.state == "running"]
        if running:
            app = make_app(JournalSource(running[0].job_dir, follow=True), opener=playback)
        elif jobs:
            app = make_app(None, opener=playback, jobs=jobs[:RECENT])
        else:
            raise UsageError("no jobs yet: start one with `sprocket filter VIDEO --vf ... --tui`")
    try:
        app.run()
    finally:
        playback.stop()
