"""``--player`` and the TUI's ``o`` when the player asked for is missing: ffplay, then the
browser, then nothing; a line always says which opened, why the asked one did not, and the URL.

Real executables on a PATH the test writes; the browser lookup is Python's own, run afresh."""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

import pytest

from sprocket_cli.cli.playback import open_player
from sprocket_cli.storage.layout import MASTER

URL = "http://127.0.0.1:8765/"


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with nothing on it but what the test writes, no display, and Python's browser
    list forgotten, so that it is looked up again on this PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")  # console browsers are looked for only with a TERM
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return folder


def stub(folder: Path, name: str, body: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_mpv_missing_plays_in_ffplay(bare_path: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "argv"
    import os

    os.mkfifo(fifo)
    stub(bare_path, "ffplay", f'echo "$@" > {fifo}')
    got: list[str] = []
    # Reading the FIFO returns once the stub has written to it: the player really started.
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    opened = open_player(URL, "mpv")
    reader.join(timeout=30)
    assert got == [f"{URL}{MASTER}\n"]
    assert opened.used == "ffplay" and opened.missing == ("mpv",)
    assert opened.line() == f"note: mpv is not installed: playing in ffplay: {URL}{MASTER}"


def test_nothing_installed_says_so_and_gives_the_url(bare_path: Path) -> None:
    opened = open_player(URL, "mpv")
    assert not opened.ok
    line = opened.line()
    assert "playing" not in line and "opened" not in line
    assert line == (
        f"note: mpv is not installed (ffplay not installed either) and no browser is here: "
        f"open {URL} in a browser, or {URL}{MASTER} in a player"
    )
    assert open_player(URL, None).line().startswith("note: no browser is here: open http://")


def test_a_text_mode_browser_is_not_started_over_the_terminal(bare_path: Path, tmp_path: Path) -> None:
    ran = tmp_path / "lynx-ran"
    stub(bare_path, "lynx", f"touch {ran}")
    opened = open_player(URL, None)
    assert not opened.ok and not ran.exists()
    assert opened.line().startswith("note: only a text-mode browser (lynx) is here: open http://127.0.0.1")


def test_the_asked_player_when_it_is_there(bare_path: Path, tmp_path: Path) -> None:
    stub(bare_path, "mpv", "exit 0")
    opened = open_player(URL, "mpv")
    assert opened.used == "mpv" and opened.missing == ()
    assert opened.line() == f"opened {URL}{MASTER} in mpv"
