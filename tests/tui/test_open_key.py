"""The ``o`` key says what happened: the player that opened, or that none could, and the URL."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest

from sprocket_cli.cli.tuirun import TuiPlayback
from tests.tui.conftest import settle
from tui import JournalSource, make_app


@pytest.fixture
def nothing_to_open_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No player and no browser: an empty PATH, no display, Python's browser list forgotten."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})


@pytest.mark.usefixtures("nothing_to_open_with")
async def test_o_with_no_player_and_no_browser_gives_the_url(recorded_job: Path) -> None:
    playback = TuiPlayback("mpv")
    app = make_app(JournalSource(recorded_job, follow=False), opener=playback)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("o")
            await pilot.pause()
            said = [n.message for n in app._notifications]
            assert playback.server is not None
            url = playback.server.url
            assert said == [
                f"note: mpv is not installed (ffplay not installed either) and no browser is here: "
                f"open {url} in a browser, or {url}stream/master.m3u8 in a player"
            ]
            assert url.startswith("http://127.0.0.1:")
            assert [n.severity for n in app._notifications] == ["warning"]
    finally:
        playback.stop()
