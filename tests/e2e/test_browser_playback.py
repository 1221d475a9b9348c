"""A real browser plays the stream from the local server while the job is still running."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.events import Event, JobFinished, SegmentReady
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from sprocket_cli.output.server import StreamServer
from tests.conftest import ClipMaker

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What the probe found Chromium needs here: no sandbox as root, no background networking.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

playwright = pytest.importorskip("playwright.sync_api")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_browser_plays_before_the_job_ends(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=10, keyint=25)
    job = prepare_job(
        builtin_pipelines.load("filter"),
        {"input_0": str(src)},
        {"output_0": tmp_path / "out.mp4"},
        JobOptions(workers=1, chunk_seconds=1.0, job_parent=tmp_path / "jobs"),
    )
    seen: list[Event] = []
    hold = threading.Event()  # the job may not finish until the browser has played
    ready = threading.Event()

    def follow() -> None:
        for event in execute(job):
            seen.append(event)
            if isinstance(event, SegmentReady) and event.index == 2:
                ready.set()
                hold.wait(timeout=120)  # pausing the event loop pauses the job's publishing

    runner = threading.Thread(target=follow)
    runner.start()
    try:
        assert ready.wait(timeout=120)
        with StreamServer(job.job_dir) as server, playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.goto(server.url)
            page.wait_for_function(
                "window.sprocket.error !== null || window.sprocket.video.currentTime > 0.5",
                timeout=60_000,
            )
            state = page.evaluate(
                "({t: window.sprocket.video.currentTime, error: window.sprocket.error,"
                " engine: window.sprocket.engine})"
            )
            browser.close()
        assert state["error"] is None, state
        assert state["t"] > 0.5
        assert not any(isinstance(e, JobFinished) for e in seen)  # played while running
    finally:
        hold.set()
        runner.join(timeout=120)
    assert isinstance(seen[-1], JobFinished)
