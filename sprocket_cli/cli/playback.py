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
#: Tried, in order, when the player asked for is not installed; then the browser.
FALLBACK = ("ffplay",)


def choose_player(player: str | None) -> str | None:
    """The player to open: ``player``, or, when it is not installed, the next one that is,
    else None (the browser); a note on stderr says which. A name that is no player at all
    is an error."""
    if player is None:
        return None
    if player not in PLAYERS:
        raise UsageError(f"--player must be one of {', '.join(PLAYERS)}, not {player!r}")
    for candidate in (player, *(p for p in FALLBACK if p != player)):
        if shutil.which(candidate) is not None:
            if candidate != player:
                console.print(f"[yellow]note:[/] {player} is not installed: playing in {candidate}")
            return candidate
    console.print(f"[yellow]note:[/] {player} is not installed: opening the browser instead")
    return None


def open_player(url: str, player: str | None) -> bool:
    """The player page at ``url`` in the browser, or its HLS stream in ``player``; whether a
    player opened (a machine with no browser opens none)."""
    if player is None:
        return webbrowser.open(url)
    subprocess.Popen([player, url + MASTER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


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
        if not open_player(self.server.url, self.player):
            console.print(f"[yellow]note:[/] no browser to open here: play {self.server.url} in one")

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
