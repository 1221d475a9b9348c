"""``--open`` and ``sprocket serve``: serve a job's stream on loopback and open a player."""

from __future__ import annotations

import shutil
import subprocess
import threading
import webbrowser
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sprocket_cli.cli.render import console
from sprocket_cli.errors import UsageError
from sprocket_cli.events import Event, JobStarted, SegmentReady
from sprocket_cli.output.server import StreamServer
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import MASTER

PLAYERS = ("mpv", "ffplay", "vlc")


def check_player(player: str | None) -> None:
    if player is None:
        return
    if player not in PLAYERS:
        raise UsageError(f"--player must be one of {', '.join(PLAYERS)}, not {player!r}")
    if shutil.which(player) is None:
        raise UsageError(f"--player {player}: not installed (not found on PATH)")


def open_player(url: str, player: str | None) -> None:
    """The player page at ``url`` in the browser, or its HLS stream in ``player``."""
    if player is None:
        webbrowser.open(url)
        return
    subprocess.Popen([player, url + MASTER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class Playback:
    """Starts the server when the job starts and the player when the first segment is ready."""

    player: str | None = None
    serve_for: float | None = None
    """Seconds to keep serving after the job; None: until Ctrl-C."""
    server: StreamServer | None = None
    storage: Storage | None = None
    """Where the stream is when not in the job folder (a remote job's S3 prefix)."""
    _opened: bool = field(default=False, init=False)

    def serve(self, job_dir: Path) -> None:
        self.server = StreamServer(job_dir, storage=self.storage).start()
        console.print(f"stream: {self.server.url}  (player page; HLS at {self.server.url}{MASTER})")

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, JobStarted) and self.server is None:
                self.serve(Path(event.job_dir))
            elif isinstance(event, SegmentReady) and not self._opened:
                self.open()
            yield event

    def open(self) -> None:
        assert self.server is not None
        self._opened = True
        open_player(self.server.url, self.player)

    def linger(self) -> None:
        """Keep serving after the job: for ``serve_for`` seconds, or until Ctrl-C."""
        if self.server is None:
            return
        try:
            if self.serve_for is None:
                console.print("serving the stream; press Ctrl-C to stop")
            threading.Event().wait(self.serve_for)
        except KeyboardInterrupt:
            pass
        finally:
            self.server.stop()
