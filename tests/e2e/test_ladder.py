"""``--ladder``: each chunk decoded once and encoded at every height; the output folder holds an
HLS master playlist and a DASH manifest with a variant per height, which a browser plays and
switches between."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import pytest

from sprocket_cli.output.server import StreamServer
from tests.conftest import ClipMaker
from tests.e2e.test_browser_playback import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_codecs import CHUNKS, assert_refused, decode, sprocket

MPD = "{urn:mpeg:dash:schema:mpd:2011}"
#: Plays the job's master playlist in an hls.js of its own (the player page's own copy), so the
#: test can pick a variant: the page keeps its Hls instance to itself.
PICKING_PLAYER = """() => {
  const video = document.createElement("video");
  video.muted = true;
  document.body.appendChild(video);
  const hls = new Hls({ startPosition: 0 });
  const state = { hls: hls, video: video, error: null, heights: [] };
  window.ladder = state;
  hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) state.error = data.details; });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    state.heights = hls.levels.map((level) => level.height);
    hls.currentLevel = state.heights.indexOf(120);
    video.play().catch((e) => { state.error = String(e); });
  });
  hls.loadSource("stream/master.m3u8");
  hls.attachMedia(video);
}"""


@pytest.fixture(scope="module")
def source(make_clip: ClipMaker) -> Path:
    """4 s of testsrc2 at 320x240, 25 fps, a keyframe a second, with AAC audio."""
    return make_clip(seconds=4, size="320x240", keyint=25)


def variants(master: str) -> list[tuple[dict[str, str], str]]:
    """Each ``#EXT-X-STREAM-INF``'s attributes and the media playlist it names."""
    lines = master.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.partition(":")[2]))
            found.append(({k: v.strip('"') for k, v in attrs.items()}, lines[i + 1]))
    return found


def joined(playlist: Path, dest: Path) -> Path:
    """The init segment and every media segment of an HLS media playlist, end to end."""
    text = playlist.read_text()
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert init is not None and "#EXT-X-ENDLIST" in text, text
    segments = [line for line in text.splitlines() if line and not line.startswith("#")]
    dest.write_bytes(b"".join((playlist.parent / name).read_bytes() for name in [init.group(1), *segments]))
    return dest


def frames_and_size(path: Path) -> tuple[int, int, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        ctx = stream.codec_context
        return count, ctx.width, ctx.height, ctx.name


def test_a_ladder_folder_holds_every_rendition_and_a_browser_switches_between_them(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, output, started = sprocket(
        "filter", str(source), "--vf", "hue=s=0", "-o", f"{out}/", "--ladder", "120,240", *CHUNKS
    )
    assert code == 0, output
    assert started["chunks"] == 4
    frames = len(decode(source).pts)
    listed = variants((out / "master.m3u8").read_text())
    assert [(v["RESOLUTION"], uri) for v, uri in listed] == [
        ("320x240", "stream.m3u8"),
        ("160x120", "h120/stream.m3u8"),
    ]
    for attrs, uri in listed:
        assert attrs["CODECS"].startswith("avc1.") and attrs["CODECS"].endswith(",mp4a.40.2")
        assert attrs["AUDIO"] == "audio"  # one audio rendition, shared
        width, height = map(int, attrs["RESOLUTION"].split("x"))
        assert frames_and_size(joined(out / uri, tmp_path / f"{height}.mp4")) == (
            frames,
            width,
            height,
            "h264",
        )
    bandwidths = [int(v["BANDWIDTH"]) for v, _ in listed]
    assert bandwidths[0] > bandwidths[1] > 0
    mpd = ET.parse(out / "stream.mpd").getroot()
    video = [a for a in mpd.iter(f"{MPD}AdaptationSet") if a.get("contentType") == "video"]
    assert len(video) == 1
    reps = video[0].findall(f"{MPD}Representation")
    assert [(r.get("width"), r.get("height")) for r in reps] == [("320", "240"), ("160", "120")]
    assert (out / "audio" / "media_0.m3u8").is_file()

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with StreamServer(Path(str(started["job_dir"]))) as server, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(server.url)  # the player page plays the master playlist as it comes
        page.wait_for_function(
            "window.sprocket.error !== null || window.sprocket.video.currentTime > 0.5", timeout=60_000
        )
        assert page.evaluate("window.sprocket.error") is None
        page.evaluate(PICKING_PLAYER)
        seen = []
        for height in (120, 240):
            page.evaluate(f"window.ladder.hls.currentLevel = window.ladder.heights.indexOf({height})")
            page.wait_for_function(
                f"window.ladder.error !== null || window.ladder.video.videoHeight === {height}",
                timeout=60_000,
            )
            seen.append(page.evaluate("({h: window.ladder.video.videoHeight, e: window.ladder.error})"))
        browser.close()
    assert seen == [{"h": 120, "e": None}, {"h": 240, "e": None}]


def test_a_rung_above_the_source_is_refused_in_one_line(source: Path) -> None:
    assert_refused(
        source, ["-o", "out/", "--ladder", "480,240"], 2, ("--ladder", "480", "above the source's 240")
    )


def test_a_ladder_into_a_file_is_refused_in_one_line(source: Path) -> None:
    assert_refused(source, ["-o", "out.mp4", "--ladder", "240,120"], 2, ("--ladder", "out.mp4 is a file"))


def test_a_ladder_of_a_mastering_codec_is_refused_in_one_line(source: Path) -> None:
    needles = ("--ladder", "prores_ks is no streaming codec")
    assert_refused(source, ["-o", "out/", "--ladder", "240", "--codec", "prores"], 2, needles)


def test_a_ladder_into_a_folder_with_files_needs_overwrite(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_refused(source, ["-o", f"{out}/", "--ladder", "240"], 6, (str(out), "not empty", "--overwrite"))
    assert (out / "notes.txt").read_text() == "mine"
