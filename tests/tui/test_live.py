"""The TUI running a real job on local workers: every chunk reaches done, cancel and pause
steer the job through the core, and a replay of the journal ends in the same state."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.jobs.journal import JOURNAL_NAME
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.jobs.records import status
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from sprocket_cli.tasks import Fault
from tests.conftest import ClipMaker
from tests.tui.conftest import settle, until
from tui import JournalSource, LiveSource, make_app
from tui.model import JobView
from tui.screens.confirm import Confirm
from tui.widgets.workers_table import WorkersTable

pytestmark = pytest.mark.timeout(120)


def _job(src: Path, tmp_path: Path, faults: tuple[Fault, ...] = ()) -> LiveSource:
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(
        workers=2, chunk_seconds=1, first_chunk_seconds=1, job_parent=tmp_path / "jobs", faults=faults
    )
    job = prepare_job(spec, {"input_0": str(src)}, {"output_0": tmp_path / "out.mp4"}, options)
    executor = LocalExecutor(2)
    return LiveSource(_closing(execute(job, executor), executor))


def _closing(events, executor):  # type: ignore[no-untyped-def]  # a generator that owns its executor
    with executor:
        yield from events


def _kinds(job_dir: Path) -> list[str]:
    return [json.loads(line)["kind"] for line in (job_dir / JOURNAL_NAME).read_text().splitlines()]


def _state(view: JobView) -> dict[str, object]:
    """What the screen shows, without what a replay cannot know (the wall clock)."""
    return {
        "chunks": view.chunks,
        "stages": {k: asdict(v) for k, v in view.stages.items()},
        "slots": {k: asdict(v) for k, v in view.slots.items()},
        "log": [asdict(line) for line in view.log],
        "figures": (view.state, view.frames_done, view.worker_seconds, view.invocations, view.segments),
        "stream": (view.playable_until, view.first_segment, view.playback_origin),
    }


async def test_live_job_reaches_done_and_replay_matches(make_clip: ClipMaker, tmp_path: Path) -> None:
    source = _job(make_clip(seconds=4), tmp_path)
    app = make_app(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.view
        assert view.state == "finished"
        assert view.chunks == ["done"] * 4
        assert {row.state for row in view.slots.values()} == {"done"}
        assert all(bar.done == bar.total == 4 for bar in view.stages.values())
        table = app.query_one(WorkersTable)
        shown = [table.render_line(y).text for y in range(1, 1 + len(view.slots))]
        assert all(" done " in line for line in shown)
        strip = str(app.query_one("ChunkStrip").render())
        assert "4/4 chunks done" in strip
        assert "whole video playable" in strip
        live = _state(view)

    assert source.job_dir is not None
    replay = make_app(JournalSource(source.job_dir, follow=False))
    async with replay.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert _state(replay.view) == live


async def test_cancel_stops_the_job_and_the_journal_says_so(make_clip: ClipMaker, tmp_path: Path) -> None:
    source = _job(make_clip(seconds=4), tmp_path, (Fault(chunk=1, sleep=60),))
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: any(r.chunk == 1 for r in app.view.slots.values()), "chunk 1 started")
        await pilot.press("c")
        # The answer goes to the question once it is on screen, not to the screen under it.
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the cancel question is asked")
        await pilot.press("y")
        await settle(pilot)
        assert app.view.state == "cancelled"
    assert source.job_dir is not None
    assert _kinds(source.job_dir)[-1] == "job_cancelled"
    assert status(source.job_dir).state == "cancelled"
    assert not (tmp_path / "out.mp4").exists()


async def test_pause_holds_dispatch_until_resumed(make_clip: ClipMaker, tmp_path: Path) -> None:
    source = _job(make_clip(seconds=4), tmp_path, (Fault(chunk=0, sleep=3),))
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.view.started is not None, "the job started")
        await pilot.press("p")
        await until(pilot, lambda: app.view.state == "paused", "dispatching paused")
        await pilot.press("p")
        await settle(pilot)
        assert app.view.state == "finished"
    assert source.job_dir is not None
    kinds = _kinds(source.job_dir)
    paused, resumed = (i for i, k in enumerate(kinds) if k == "job_paused")
    assert "task_started" not in kinds[paused:resumed]  # nothing new started while paused
    assert kinds[-1] == "job_finished"
