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
BROWSER = "the browser"


def choose_player(player: str | None) -> str | None:
    """``--player`` checked before the job starts: a name that is no player at all is an error.
    Whether it is installed is settled when the stream opens (:func:`open_player`), so that the
    line saying what opened carries the reason and the URL together."""
    if player is not None and player not in PLAYERS:
        raise UsageError(f"--player must be one of {', '.join(PLAYERS)}, not {player!r}")
    return player


@dataclass(frozen=True)
class Opened:
    """What :func:`open_player` did, for the one line the user reads."""

    url: str
    """The player page (browser, or nothing opened) or the HLS playlist (a player)."""
    used: str | None
    """The player that was started, ``"the browser"``, or None when nothing could open."""
    asked: str | None = None
    missing: tuple[str, ...] = ()
    """Players tried and not found on PATH, the one asked for first."""
    why_not_browser: str = ""

    @property
    def ok(self) -> bool:
        return self.used is not None

    def line(self) -> str:
        """``note: mpv is not installed: playing in ffplay: URL`` and the like: what opened,
        why the player asked for did not, and always the URL."""
        others = [p for p in self.missing if p != self.asked]
        nor = f" ({', '.join(others)} not installed either)" if others else ""
        if self.used is None:
            by_hand = f"open {self.url} in a browser, or {self.url}{MASTER} in a player"
            if self.asked is not None:
                return f"note: {self.asked} is not installed{nor} and {self.why_not_browser}: {by_hand}"
            return f"note: {self.why_not_browser}: {by_hand}"
        if self.asked is not None and self.asked in self.missing:
            how = "opening the browser instead" if self.used == BROWSER else f"playing in {self.used}"
            return f"note: {self.asked} is not installed: {how}{nor}: {self.url}"
        return f"opened {self.url} in {self.used}"


def open_player(url: str, player: str | None) -> Opened:
    """Open the stream served at ``url``: its HLS playlist in ``player`` or, when that is not
    installed, in the first :data:`FALLBACK` that is; else the player page in the browser."""
    missing: list[str] = []
    for candidate in () if player is None else (player, *(p for p in FALLBACK if p != player)):
        path = shutil.which(candidate)
        if path is None:
            missing.append(candidate)
            continue
        try:
            subprocess.Popen([path, url + MASTER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:  # on PATH but not runnable: as good as missing
            missing.append(candidate)
            continue
        return Opened(url + MASTER, candidate, player, tuple(missing))
    why = _no_browser(url)
    return Opened(url, None if why else BROWSER, player, tuple(missing), why)


def _no_browser(url: str) -> str:
    """Open ``url`` in the browser; why not, or "" when it opened."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        browser = None
    # A text-mode browser (lynx, w3m) would take over this terminal and block until it quits.
    if browser is not None and type(browser) is webbrowser.GenericBrowser:
        return f"only a text-mode browser ({browser.name}) is here"
    return "" if webbrowser.open(url) else "no browser is here"


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
        # soft_wrap: the URL stays one line a terminal can click or copy
        console.print(
            open_player(self.server.url, self.player).line(), markup=False, highlight=False, soft_wrap=True
        )

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
