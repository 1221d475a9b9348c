"""A master a browser cannot play (ProRes) streams as an H.264 preview written from the same
decode, which a browser plays; the final file is still the master."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sprocket_cli.output.server import StreamServer
from tests.conftest import ClipMaker
from tests.e2e.test_browser_playback import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_codecs import CHUNKS, decode, sprocket
from tests.e2e.test_ladder import frames_and_size, joined, variants


@pytest.fixture(scope="module")
def source(make_clip: ClipMaker) -> Path:
    """4 s of testsrc2 at 320x240, 25 fps, a keyframe a second, with AAC audio."""
    return make_clip(seconds=4, size="320x240", keyint=25)


def test_a_prores_job_streams_an_h264_preview_a_browser_plays(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mov"
    code, output, started = sprocket(
        "filter", str(source), "--vf", "hue=s=0", "-o", str(dest), "--codec", "prores_ks", *CHUNKS
    )
    assert code == 0, output
    assert started["chunks"] == 4
    master = decode(dest)
    assert (master.video, master.pix_fmt, master.container) == ("prores", "yuv422p10le", "mov")
    stream = Path(str(started["job_dir"])) / "stream"
    listed = variants((stream / "master.m3u8").read_text())
    # The preview first, the one browsers take; the master after it, for players that decode it.
    assert [(v["CODECS"].split(".")[0], uri) for v, uri in listed] == [
        ("avc1", "preview/stream.m3u8"),
        ("apch,mp4a", "stream.m3u8"),
    ]
    preview = frames_and_size(joined(stream / "preview" / "stream.m3u8", tmp_path / "preview.mp4"))
    assert preview == (len(master.pts), 320, 240, "h264")
    assert '<Representation id="preview" codecs="avc1.' in (stream / "stream.mpd").read_text()
    finished = next(json.loads(line) for line in output.splitlines() if '"kind": "job_finished"' in line)
    assert any(line.startswith("stream: an H.264 preview, 320x240") for line in finished["tracks"])

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with StreamServer(stream.parent) as server, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_function(
            "window.sprocket.error !== null || window.sprocket.video.currentTime > 0.5", timeout=60_000
        )
        state = page.evaluate("({t: window.sprocket.video.currentTime, error: window.sprocket.error})")
        browser.close()
    assert state["error"] is None, state
    assert state["t"] > 0.5
