"""Replaying a recorded journal: the final state, moments in between (``--at``), the keys,
the job picker, and how the screen looks (SVG snapshots at 80x24 and 160x48)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from sprocket_cli.jobs.records import all_jobs
from tests.tui.conftest import HALF_PLAYED, STRAGGLING, settle
from tui import JournalSource, make_app
from tui.screens.help import Help
from tui.screens.pick_job import PickJob
from tui.widgets.workers_table import WorkersTable


async def test_replay_to_the_end_shows_the_finished_job(recorded_job: Path) -> None:
    app = make_app(JournalSource(recorded_job, follow=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.view
        assert view.state == "finished"
        assert view.chunks == ["done"] * 16
        assert view.retries == 1 and view.stragglers == 1
        assert view.playable_until == pytest.approx(16.0)
        assert any("attempt 1 failed, retrying" in line.text for line in view.log)
        assert any("chunk 7: copy 0 gave way" in line.text for line in view.log)


async def test_replay_at_a_moment_shows_the_stream_half_played(recorded_job: Path) -> None:
    app = make_app(JournalSource(recorded_job, follow=False, until=HALF_PLAYED))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.view
        assert view.state == "running"
        head = view.playhead(app.now())
        assert head is not None and 7.5 < head < 8.5
        assert head < view.playable_until < 16  # ahead of the viewer, not finished
        assert not view.stalled(app.now())
        assert view.chunks[:10] == ["done"] * 10 and "done" not in view.chunks[12:]


async def test_keys_filter_sort_and_help(recorded_job: Path) -> None:
    app = make_app(JournalSource(recorded_job, follow=False, until=STRAGGLING))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(WorkersTable)
        assert [app.view.slots[s].state for s in table.order] == ["computing", "starting", "failed", "idle"]
        await pilot.press("f", *"computing", "enter")
        assert table.order == [0]
        await pilot.press("escape")
        assert table.order == [0, 1, 2, 3]
        await pilot.press("s")  # by state: the failed row first
        assert table.sort == "state"
        assert [app.view.slots[s].state for s in table.order] == ["failed", "starting", "computing", "idle"]
        await pilot.press("question_mark")
        assert isinstance(app.screen, Help)
        await pilot.press("escape")
        await pilot.press("c")  # a replay cannot be steered: a warning, no confirmation
        assert not isinstance(app.screen, Help) and app.screen is app.screen_stack[0]
        await pilot.press("q")
    assert app.return_code == 0


async def test_picker_lists_recent_jobs_and_replays_the_chosen_one(recorded_job: Path) -> None:
    jobs = list(all_jobs(recorded_job.parent))
    app = make_app(None, jobs=jobs)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, PickJob)
        await pilot.press("enter")
        await settle(pilot)
        assert app.view.started is not None
        assert app.view.started.job_id == recorded_job.name
        assert app.view.state == "finished"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_half_played(recorded_job: Path, size: tuple[int, int], snap_compare: Any) -> None:
    app = make_app(JournalSource(recorded_job, follow=False, until=HALF_PLAYED))

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
