"""URL inputs are fetched with yt-dlp (generic extractor) from a loopback HTTP server."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.media_checks import facts


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_root(clip: Path, tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "holiday.mp4").write_bytes(clip.read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_input_downloads_then_filters(http_root: str, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(
        app,
        ["filter", f"{http_root}/holiday.mp4", "--vf", "hue=s=0", "-o", str(out),
         "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = facts(out)
    assert got.frames == facts(clip).frames
    assert got.max_saturation <= 2


def test_unreachable_url_is_one_line(http_root: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["filter", f"{http_root}/missing.mp4", "--vf", "hue=s=0", "--job-dir", str(tmp_path)]
    )
    assert result.exit_code == 5
    assert "download failed" in result.output and "Traceback" not in result.output
