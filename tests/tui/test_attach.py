"""``sprocket monitor`` attached to a job that another process runs: it follows the journal
live, and its cancel reaches that process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sprocket_cli.jobs.records import status
from tests.conftest import ClipMaker
from tests.tui.conftest import settle, until
from tui import JournalSource, make_app
from tui.screens.confirm import Confirm

pytestmark = pytest.mark.timeout(120)


async def test_attach_follows_a_running_job_and_cancels_it(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4)
    job = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", "filter", str(src), "--vf", "hue=s=0",
         "-o", str(tmp_path / "out.mp4"), "-w", "2", "--chunk-seconds", "1", "--first-chunk-seconds", "1",
         "--inject", "2:sleep=60", "--json", "--job-dir", str(tmp_path / "jobs")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert job.stdout is not None
        first = json.loads(job.stdout.readline())  # the job has started once it says so
        job_dir = Path(first["job_dir"])
        assert status(job_dir).state == "running"

        app = make_app(JournalSource(job_dir, follow=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.view.started is not None, "the journal was read")
            assert app.view.started is not None and app.view.started.job_id == first["job_id"]
            await until(pilot, lambda: app.view.chunks[:2] == ["done", "done"], "chunks 0-1 done live")
            assert app.view.state == "running"  # the straggler holds the job open
            await pilot.press("c")
            # The answer goes to the question once it is on screen, not to the screen under it.
            await until(pilot, lambda: isinstance(app.screen, Confirm), "the cancel question is asked")
            await pilot.press("y")
            await settle(pilot)
            assert app.view.state == "cancelled"
        assert job.wait(timeout=60) == 10  # the coordinator's process ended, as cancelled
    finally:
        job.kill()
        job.wait()
    assert status(job_dir).state == "cancelled"
