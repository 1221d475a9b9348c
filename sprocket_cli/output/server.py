"""A small HTTP server for one job's stream, bound to loopback only.

It serves the job's stream folder and a player page, nothing else: the job's record and journal
next to the stream stay private, paths are resolved and refused if they leave the stream folder,
playlists are sent uncached (they grow while the job runs), and byte ranges are honoured so
players can seek.

Loopback alone does not keep web pages out: a page on another site can rebind its own name to
127.0.0.1 and read what this server answers. Such a request still names that site in ``Host``,
so only loopback names are answered. Malformed requests get a 4xx and never a traceback: the
terminal belongs to the CLI (or the TUI).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import unquote_to_bytes

from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import STREAM

LOOPBACK = "127.0.0.1"
"""The folder of the job (and the prefix of a remote job's keys) the server exposes."""

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
#: The player page and the hls.js it loads (``player.html`` asks for ``hls.min.js`` relatively).
_STATIC: dict[tuple[str, ...], str] = {
    (): "player.html",
    ("player.html",): "player.html",
    ("hls.min.js",): "hls.min.js",
}
_METHODS = ("GET", "HEAD")
# [0-9], not \d: \d takes other scripts' digits, which int() would then accept.
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
_HOST = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(?::([0-9]{1,5}))?", re.IGNORECASE)
#: Origin form (``/path?query``) in printable ASCII: what players send; absolute URLs and
#: ``*`` would name a host or no file, raw bytes and spaces no client sends.
_TARGET = re.compile(r"/[\x21-\x7e]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MAX_TARGET = 2048
"""Longer than any stream path; the base class only stops request lines at 64 KiB."""
_CHUNK = 1 << 16
_log = logging.getLogger(__name__)


def static_file(name: str) -> bytes:
    """A file of the package's player page (``player.html``, ``hls.min.js``)."""
    return (resources.files("sprocket_cli.output") / "static" / name).read_bytes()


class _Refused(Exception):
    """A request answered with ``status`` and a short reason, and no content of the job."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Unsatisfiable(Exception):
    """A ``Range`` header this file cannot answer (or that does not parse)."""


def _host_allowed(values: list[str] | None, port: int) -> bool:
    """Whether the request's ``Host`` headers name this server on loopback: exactly one, one of
    ``127.0.0.1``, ``localhost`` or ``[::1]``, with no port or ``port``."""
    # None or several: HTTP/1.1 calls for a 400; the same refusal as a foreign name does too.
    if not values or len(values) != 1:
        return False
    m = _HOST.fullmatch(values[0].strip())
    return m is not None and (m.group(2) is None or int(m.group(2)) == port)


def _request_segments(target: str) -> tuple[str, ...]:
    """The decoded, non-empty segments of a request target's path; :class:`_Refused` when it is
    malformed (400, 414) or climbs with ``.`` or ``..`` in any spelling (403)."""
    if len(target) > _MAX_TARGET:
        raise _Refused(HTTPStatus.REQUEST_URI_TOO_LONG, "request target too long")
    if _TARGET.fullmatch(target) is None:
        raise _Refused(HTTPStatus.BAD_REQUEST, "not a path")
    path = target.partition("?")[0]
    if _BAD_ESCAPE.search(path):
        raise _Refused(HTTPStatus.BAD_REQUEST, "bad percent-encoding")
    try:
        # Strict UTF-8: overlong forms such as %c0%ae ('.') are refused, not decoded leniently.
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(HTTPStatus.BAD_REQUEST, "path is not UTF-8") from None
    # Control characters (NUL above all: the OS cuts names there) name no file we write.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise _Refused(HTTPStatus.BAD_REQUEST, "control character in path")
    segments = tuple(s for s in decoded.split("/") if s)
    if any(s in (".", "..") for s in segments):
        raise _Refused(HTTPStatus.FORBIDDEN, "outside the job's stream")
    return segments


def _byte_range(header: list[str] | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive of the ``Range`` header, None without one; :class:`_Unsatisfiable`
    for several headers, a form we do not serve (several ranges), or bytes the file lacks."""
    if not header:
        return None
    m = _RANGE.fullmatch(header[0].strip()) if len(header) == 1 else None
    if m is None or (not m.group(1) and not m.group(2)):
        raise _Unsatisfiable

    def number(digits: str) -> int:
        # Past any file's size, so no need to convert (int() refuses over 4300 digits anyway).
        return int(digits) if len(digits) <= 18 else 10**18

    if m.group(1):
        start = number(m.group(1))
        end = min(number(m.group(2)), size - 1) if m.group(2) else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - number(m.group(2))), size - 1
    if start > end or start >= size:
        raise _Unsatisfiable
    return start, end


class _Handler(BaseHTTPRequestHandler):
    server_version = "sprocket"
    # The base class's own refusals (bad request line, too many headers): short, plain text.
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"
    # The base class answers a request line it cannot parse HTTP/0.9 style, a body without a
    # status line, which no client reads as an error; a version-less line is taken as 1.0.
    default_request_version = "HTTP/1.0"
    root: Path
    storage: Storage | None
    """Where a remote job's stream is (S3); None: files under ``root``."""
    _responded = False

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the CLI owns the terminal."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)

    def parse_request(self) -> bool:
        """The base class's parse, then the checks every request passes before any path is
        looked at: Host first, so a foreign page learns nothing, not even which methods exist."""
        self._responded = False
        if not super().parse_request():
            return False
        assert isinstance(self.server, HTTPServer)
        if not _host_allowed(self.headers.get_all("Host"), self.server.server_port):
            self._refuse(_Refused(HTTPStatus.FORBIDDEN, "not a loopback Host"))
            return False
        if self.command not in _METHODS:  # 405, not the base class's 501: the method is the fault
            self._refuse(_Refused(HTTPStatus.METHOD_NOT_ALLOWED, "GET or HEAD only"))
            return False
        return True

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        try:
            self._serve(body=body)
        except _Refused as refused:
            self._refuse(refused)
        except (ConnectionError, TimeoutError):
            raise  # the client left: nothing to answer, and the server drops these quietly
        except Exception:  # a bug here must not reach the terminal, nor leave the client hanging
            _log.debug("stream server: %s %r failed", self.command, self.path, exc_info=True)
            if not self._responded:
                self._refuse(_Refused(HTTPStatus.INTERNAL_SERVER_ERROR, "server error"))
            self.close_connection = True

    def _refuse(self, refused: _Refused) -> None:
        payload = f"{refused.status.value} {refused.reason}\n".encode()
        self.send_response(refused.status)
        if refused.status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", ", ".join(_METHODS))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _serve(self, *, body: bool) -> None:
        segments = _request_segments(self.path)
        if segments in _STATIC:
            name = _STATIC[segments]
            self._send_bytes(static_file(name), Path(name).suffix, body)
            return
        if len(segments) < 2 or segments[0] != STREAM:  # job.json, journal.jsonl, work/, ...
            raise _Refused(HTTPStatus.NOT_FOUND, "not found")
        if self.storage is not None:
            self._send_stored("/".join(segments), body)
            return
        self._send_file(segments[1:], body)

    def _headers(self, suffix: str, length: int, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Content-Type", MIME_TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache" if suffix in _LIVE else "max-age=3600")
        self.send_header("X-Content-Type-Options", "nosniff")  # a segment is never a page

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
            raise _Refused(HTTPStatus.FORBIDDEN, "outside the job's stream") from None
        except KeyError:
            raise _Refused(HTTPStatus.NOT_FOUND, "not found") from None
        except Exception as exc:  # storage unreachable (network, credentials): the player retries
            raise _Refused(
                HTTPStatus.BAD_GATEWAY, f"the job's storage did not answer: {type(exc).__name__}"
            ) from None
        self._send_ranged(
            len(data), Path(key).suffix, lambda start, length: [data[start : start + length]], body
        )

    def _send_file(self, parts: tuple[str, ...], body: bool) -> None:
        stream = self.root / STREAM
        try:
            # Resolved, so a symlink counts where it points: out of the stream folder is refused.
            target = stream.joinpath(*parts).resolve()
        except (OSError, RuntimeError):  # a name too long, a symlink loop
            raise _Refused(HTTPStatus.NOT_FOUND, "not found") from None
        if not target.is_relative_to(stream):
            raise _Refused(HTTPStatus.FORBIDDEN, "outside the job's stream")
        try:
            # Non-blocking, so a FIFO cannot hang the handler; only regular files are sent.
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            raise _Refused(HTTPStatus.NOT_FOUND, "not found") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # directories are not listed
            os.close(fd)
            raise _Refused(HTTPStatus.NOT_FOUND, "not found")
        with open(fd, "rb") as f:

            def read(start: int, length: int) -> Iterator[bytes]:
                f.seek(start)
                while length > 0:
                    chunk = f.read(min(_CHUNK, length))
                    if not chunk:
                        break
                    yield chunk
                    length -= len(chunk)

            # The size of the open file, not of the name: a playlist replaced meanwhile is
            # sent whole as it was, never cut by another version's length.
            self._send_ranged(info.st_size, target.suffix, read, body)

    def _send_ranged(
        self, size: int, suffix: str, read: Callable[[int, int], Iterable[bytes]], body: bool
    ) -> None:
        """The whole body, or the byte range the request asks for, from ``read(start, length)``."""
        try:
            wanted = _byte_range(self.headers.get_all("Range"), size)
        except _Unsatisfiable:
            self._unsatisfiable(size)
            return
        start, end = wanted if wanted is not None else (0, size - 1)
        status = HTTPStatus.OK if wanted is None else HTTPStatus.PARTIAL_CONTENT
        self._headers(suffix, end - start + 1, status)
        if wanted is not None:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet, unlike the base class's traceback on stderr: a player that hangs up mid-segment
        (seeking, closing the tab) is routine, and anything else is a bug for a debug log."""
        if isinstance(sys.exception(), (ConnectionError, TimeoutError)):
            return
        _log.debug("stream server: request from %s failed", client_address, exc_info=True)


class StreamServer:
    """Serves ``root``'s stream folder on 127.0.0.1 from a background thread; ``port=0`` picks a
    free port.

    With ``storage``, the job's stream is read from there (a remote job's S3 prefix) instead.
    """

    def __init__(self, root: Path, port: int = 0, storage: Storage | None = None) -> None:
        handler = type("Handler", (_Handler,), {"root": root.resolve(), "storage": storage})
        self._httpd = _Server((LOOPBACK, port), handler)
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
