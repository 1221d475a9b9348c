"""The HLS playlist is playable from a local HTTP server while the job is still running."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

import builtin_pipelines
from sprocket_cli.events import JobFinished, SegmentReady
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from sprocket_cli.media.ffmpeg import run_ffmpeg
from tests.conftest import ClipMaker


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[functools.partial[str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield functools.partial(start)
    for server in servers:
        server.shutdown()
        server.server_close()


def _decoded_frames(url: str, limit: int | None = None) -> int:
    """Frames a client decodes from ``url``, stopping at ``limit``: a live playlist never ends."""
    with av.open(url, options={"live_start_index": "0"}) as container:
        count = 0
        for _ in container.decode(video=0):
            count += 1
            if count == limit:
                break
        return count


def test_playlist_plays_before_the_job_ends(
    make_clip: ClipMaker, tmp_path: Path, serve: functools.partial[str]
) -> None:
    src = make_clip(seconds=8, keyint=25)  # 8 chunks of 1 s
    job = prepare_job(
        builtin_pipelines.load("filter"),
        {"input_0": str(src)},
        {"output_0": tmp_path / "out.mp4"},
        JobOptions(workers=1, chunk_seconds=1.0, job_parent=tmp_path / "jobs"),
    )
    base = serve(job.job_dir)
    events = execute(job)
    live_checked = False
    for event in events:
        if isinstance(event, SegmentReady) and event.index == 1 and not live_checked:
            # The coordinator is paused here, mid-job: chunks 2..7 are not published yet.
            playlist = (job.job_dir / "stream" / "stream.m3u8").read_text()
            assert "#EXT-X-ENDLIST" not in playlist
            assert "seg_00001.m4s" in playlist and "seg_00007.m4s" not in playlist
            # 40 of the 50 published frames: the decoder holds the last few back until more
            # packets come, and a live playlist only grows when the job goes on.
            assert _decoded_frames(f"{base}/stream/stream.m3u8", limit=40) == 40
            live_checked = True
        if isinstance(event, JobFinished):
            assert live_checked
    playlist = (job.job_dir / "stream" / "stream.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert _decoded_frames(f"{base}/stream/stream.m3u8") == 200
    with av.open(f"{base}/stream/master.m3u8") as master:  # what players open
        assert master.streams.video and master.streams.audio
        samples = sum(frame.samples for frame in master.decode(audio=0))
        assert samples / master.streams.audio[0].sample_rate == pytest.approx(8.0, abs=0.05)
    # PyAV's wheel cannot parse MPDs (no libxml2), so the DASH client is the ffmpeg binary.
    remuxed = tmp_path / "from-dash.mp4"
    run_ffmpeg(["-i", str(job.job_dir / "stream" / "stream.mpd"), "-c", "copy", str(remuxed)], what="dash")
    assert _decoded_frames(str(remuxed)) == 200
    with av.open(str(remuxed)) as dash:
        assert dash.streams.audio  # the manifest's audio adaptation set
