"""A job inside the TUI: the job commands' ``--tui``, and the ``o`` key of ``sprocket monitor``.

Kept apart from :mod:`~sprocket_cli.cli.monitor` so that the command's module stays light:
this one reaches the session, the stream server and Rich's progress, which only a running
command needs, never its help.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer

from sprocket_cli.cli.playback import open_player
from sprocket_cli.cli.render import print_summary
from sprocket_cli.events import Event
from sprocket_cli.output.server import StreamServer
from sprocket_cli.session import recorded_storage
from sprocket_cli.storage import Storage


class TuiPlayback:
    """The TUI's ``o`` key: serve the job's stream on loopback (once) and open a player.

    Unlike ``--open`` it prints nothing: the terminal belongs to the TUI, which shows the line
    saying what opened (or that nothing could, and the URL) as a notification."""

    def __init__(self, player: str | None, storage: Storage | None = None) -> None:
        self.player = player
        self.storage = storage
        """Where the stream is when not in the job folder (a remote job's S3 prefix)."""
        self.server: StreamServer | None = None

    def __call__(self, job_dir: Path) -> str:
        if self.server is None:
            storage = self.storage or recorded_storage(job_dir)
            self.server = StreamServer(job_dir, storage=storage).start()
        return open_player(self.server.url, self.player).line()

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
