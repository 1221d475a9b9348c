"""TUI fixtures: a recorded journal to replay, and helpers to wait on the app without sleeps."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tui.app import SprocketApp

#: A real run recorded once (16 s clip, 4 local workers, 1 s chunks, streaming policy with
#: playback 1 s after the first segment): chunk 2 failed once and was retried, chunk 7 was a
#: straggler overtaken by a speculative backup. Recorded, not re-run, so that snapshots are
#: stable: every time on screen comes from the journal.
RECORDED = Path(__file__).parent / "data" / "20261122-053810-2933"
#: Job-clock second at which the recorded stream is half played (playhead ~8 s of 16 s).
HALF_PLAYED = 10.05
#: Job-clock second at which chunk 7's first copy stalls and its backup has just started.
STRAGGLING = 6.6


@pytest.fixture
def recorded_job(tmp_path: Path) -> Path:
    dest = tmp_path / "jobs" / RECORDED.name
    shutil.copytree(RECORDED, dest)
    return dest


async def settle(pilot: Pilot[None]) -> None:
    """Let the source's worker finish and every posted batch be folded and drawn."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    app = pilot.app
    assert isinstance(app, SprocketApp)
    app.redraw()
    await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str, *, polls: int = 3000) -> None:
    """Process app messages until ``condition()`` holds; fail naming ``what`` if it never does."""
    for _ in range(polls):
        if condition():
            return
        await pilot.pause(0.01)  # lets the app run; the condition is the synchronisation
    raise AssertionError(f"never happened: {what}")
