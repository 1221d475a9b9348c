"""The TUI from the command line: ``sprocket monitor`` and the job commands' ``--tui``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.cli.playback import choose_player, open_player
from sprocket_cli.cli.render import print_summary
from sprocket_cli.errors import UsageError
from sprocket_cli.events import Event
from sprocket_cli.jobs.records import all_jobs, find_job, status
from sprocket_cli.output.server import StreamServer
from sprocket_cli.session import recorded_storage
from sprocket_cli.storage import Storage

#: Recent jobs offered by ``sprocket monitor`` when none is running.
RECENT = 50


class TuiPlayback:
    """The TUI's ``o`` key: serve the job's stream on loopback (once) and open a player.

    Unlike ``--open`` it prints nothing: the terminal belongs to the TUI."""

    def __init__(self, player: str | None, storage: Storage | None = None) -> None:
        self.player = player
        self.storage = storage
        """Where the stream is when not in the job folder (a remote job's S3 prefix)."""
        self.server: StreamServer | None = None

    def __call__(self, job_dir: Path) -> str:
        if self.server is None:
            storage = self.storage or recorded_storage(job_dir)
            self.server = StreamServer(job_dir, storage=storage).start()
        if open_player(self.server.url, self.player):
            return f"playing {self.server.url}"
        return f"no browser here: play {self.server.url} in one"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def run_tui(
    events: Iterator[Event], *, open_stream: bool, player: str | None, storage: Storage | None = None
) -> None:
    """Run a job inside the TUI; after it closes, print the summary (or raise the job's error).

    ``storage``: where the stream is, for a remote job (else the job folder)."""
    from tui import LiveSource, make_app

    source = LiveSource(events)
    playback = TuiPlayback(player, storage)
    app = make_app(source, opener=playback, auto_open=open_stream)
    try:
        app.run()
    finally:
        source.stop()  # the TUI closed some other way than q while the job runs: end the job
        playback.stop()
    if source.error is not None:
        raise source.error
    if app.return_code:  # the TUI itself failed; Textual has said why
        raise typer.Exit(app.return_code)
    view = app.view
    if view.started is not None and view.finished is not None:
        print_summary(view.started, view.finished)


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
