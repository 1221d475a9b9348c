"""The probe reads every frame of a source served over HTTP/1.1 with keep-alive and byte ranges,
as S3 serves a presigned ``s3://`` input: a probe that misses a frame cuts chunks that drop it."""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.media.probe import probe
from tests.conftest import ClipMaker


def _server(data: bytes, protocol: str) -> ThreadingHTTPServer:
    class Ranges(BaseHTTPRequestHandler):
        protocol_version = protocol

        def do_GET(self) -> None:
            start, end = 0, len(data) - 1
            asked = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if asked:
                start, end = int(asked[1]), int(asked[2] or end)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            with contextlib.suppress(OSError):  # the client moved on (a seek), as S3 allows
                self.wfile.write(data[start : end + 1])

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ranges)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=["HTTP/1.1", "HTTP/1.0"])
def served(request: pytest.FixtureRequest, make_clip: ClipMaker) -> Iterator[tuple[str, Path]]:
    # ffmpeg's mp4 muxer writes the index at the end unless told otherwise: the reader seeks
    # to it and back, which is where a frame went missing.
    clip = make_clip(seconds=4, size="320x240", fps="25", keyint=25, audio=True)
    server = _server(clip.read_bytes(), request.param)
    yield f"http://127.0.0.1:{server.server_address[1]}/clip.mp4", clip
    server.shutdown()


def test_a_keep_alive_server_gives_the_probe_every_frame(served: tuple[str, Path]) -> None:
    url, clip = served
    frames = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(clip), "-map", "0:v", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout.count("\n0,")  # fmt: skip
    remote, local = probe(url), probe(str(clip))
    assert len(remote.frame_pts) == len(local.frame_pts) == frames == 100
    assert remote.frame_pts == local.frame_pts and remote.keyframe_pts == local.keyframe_pts
