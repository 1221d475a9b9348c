"""A small HTTP server for one job's stream, bound to loopback only.

It serves the job's stream folder and a player page, nothing else: paths are resolved and
refused if they leave the folder, playlists are sent uncached (they grow while the job runs),
and byte ranges are honoured so players can seek.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sprocket_cli.storage import Storage

LOOPBACK = "127.0.0.1"

MIME_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
}
#: Files that change while the job runs; players must re-fetch them.
_LIVE = {".m3u8", ".mpd"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 1 << 16


def static_file(name: str) -> bytes:
    """A file of the package's player page (``player.html``, ``hls.min.js``)."""
    return (resources.files("sprocket_cli.output") / "static" / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server_version = "sprocket"
    root: Path
    storage: Storage | None
    """Where a remote job's stream is (S3); None: files under ``root``."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the CLI owns the terminal."""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/player.html"):
            self._send_bytes(static_file("player.html"), ".html", body)
            return
        if path == "/hls.min.js":
            self._send_bytes(static_file("hls.min.js"), ".js", body)
            return
        if self.storage is not None:
            self._send_stored(path.lstrip("/"), body)
            return
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root):
            self.send_error(HTTPStatus.FORBIDDEN, "outside the job's folder")
            return
        if not target.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self._send_file(target, body)

    def _headers(self, suffix: str, length: int, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Content-Type", MIME_TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache" if suffix in _LIVE else "max-age=3600")

    def _send_bytes(self, data: bytes, suffix: str, body: bool) -> None:
        self._headers(suffix, len(data), HTTPStatus.OK)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _send_stored(self, key: str, body: bool) -> None:
        """A key of a remote job's storage (S3), fetched for the player: the bucket stays
        private, needs no CORS rule for the browser, and no presigned URL expires mid-film."""
        assert self.storage is not None
        try:
            data = self.storage.get_bytes(key)
        except ValueError:
            self.send_error(HTTPStatus.FORBIDDEN, "outside the job's folder")
            return
        except KeyError:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        except Exception as exc:  # storage unreachable (network, credentials): the player retries
            self.send_error(HTTPStatus.BAD_GATEWAY, f"the job's storage did not answer: {type(exc).__name__}")
            return
        self._send_ranged(
            len(data), Path(key).suffix, lambda start, length: [data[start : start + length]], body
        )

    def _send_file(self, target: Path, body: bool) -> None:
        def read(start: int, length: int) -> Iterator[bytes]:
            with target.open("rb") as f:
                f.seek(start)
                while length > 0:
                    chunk = f.read(min(_CHUNK, length))
                    if not chunk:
                        break
                    yield chunk
                    length -= len(chunk)

        self._send_ranged(target.stat().st_size, target.suffix, read, body)

    def _send_ranged(
        self, size: int, suffix: str, read: Callable[[int, int], Iterable[bytes]], body: bool
    ) -> None:
        """The whole body, or the byte range the request asks for, from ``read(start, length)``."""
        start, end = 0, size - 1
        status = HTTPStatus.OK
        wanted = self.headers.get("Range")
        if wanted:
            m = _RANGE.match(wanted.strip())
            if m is None or (not m.group(1) and not m.group(2)):
                self._unsatisfiable(size)
                return
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # suffix range: the last N bytes
                start = max(0, size - int(m.group(2)))
            if start > end or start >= size:
                self._unsatisfiable(size)
                return
            status = HTTPStatus.PARTIAL_CONTENT
        self._headers(suffix, end - start + 1, status)
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        for chunk in read(start, end - start + 1):
            self.wfile.write(chunk)

    def _unsatisfiable(self, size: int) -> None:
        self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()


class StreamServer:
    """Serves ``root`` on 127.0.0.1 from a background thread; ``port=0`` picks a free port.

    With ``storage``, the job's stream is read from there (a remote job's S3 prefix) instead.
    """

    def __init__(self, root: Path, port: int = 0, storage: Storage | None = None) -> None:
        handler = type("Handler", (_Handler,), {"root": root.resolve(), "storage": storage})
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=partial(self._httpd.serve_forever, poll_interval=0.2),
            name="sprocket-stream-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def bound_address(self) -> str:
        """The address the listening socket is bound to."""
        return str(self._httpd.socket.getsockname()[0])

    def start(self) -> StreamServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> StreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
