"""Malformed requests and foreign Host names sent to the stream server over a real job folder
(the uninterrupted run's), for ``bench.faults``: the status it answers, the first line it
printed on the terminal (a traceback would show here), and whether the job's record
(``job.json``) came back in the answer, counted as a secret.

The requests are sent raw, through the helpers of tests/unit/test_server_hardening.py."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sprocket_cli.output.server import StreamServer
from tests.unit.test_server_hardening import port_of, raw, status_of

LOOPBACK = "Host: 127.0.0.1:{port}\r\n"

#: (fault, request line and headers; {port} is the server's).
REQUESTS: list[tuple[str, str]] = [
    ("HTTP: NUL in the path (%00)", "GET /stream/seg_00000.m4s%00.html HTTP/1.1\r\n" + LOOPBACK),
    ("HTTP: raw NUL byte in the path", "GET /stream/seg\x00.m4s HTTP/1.1\r\n" + LOOPBACK),
    ("HTTP: %-escape that does not decode", "GET /stream/%zz HTTP/1.1\r\n" + LOOPBACK),
    ("HTTP: overlong '.' in UTF-8 (%c0%ae)", "GET /stream/%c0%ae%c0%ae/job.json HTTP/1.1\r\n" + LOOPBACK),
    ("HTTP: 5000-byte path", "GET /stream/" + "a" * 5000 + ".m4s HTTP/1.1\r\n" + LOOPBACK),
    ("HTTP: garbage request line", "HELLO\r\n" + LOOPBACK),
    ("HTTP: unknown method (DELETE)", "DELETE /job.json HTTP/1.1\r\n" + LOOPBACK),
    (
        "HTTP: Range past its own start",
        "GET /stream/seg_00000.m4s HTTP/1.1\r\nRange: bytes=5-2\r\n" + LOOPBACK,
    ),
    ("HTTP: 101 headers", "GET /stream/master.m3u8 HTTP/1.1\r\n" + "X-Pad: 1\r\n" * 101 + LOOPBACK),
    ("HTTP: the job record (/job.json)", "GET /job.json HTTP/1.1\r\n" + LOOPBACK),
    (
        "HTTP: foreign Host (DNS rebinding)",
        "GET /stream/master.m3u8 HTTP/1.1\r\nHost: evil.example:{port}\r\n",
    ),
    ("HTTP: foreign Host asking /job.json", "GET /job.json HTTP/1.1\r\nHost: evil.example:{port}\r\n"),
    ("HTTP: no Host header", "GET /stream/master.m3u8 HTTP/1.1\r\n"),
]


@contextmanager
def _stderr_into(file: IO[str]) -> Iterator[None]:
    """Whatever this process writes on its stderr (file descriptor 2, where the server's
    handler threads would print a traceback) goes to ``file`` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _ask(server: StreamServer, request: str) -> tuple[bytes, str]:
    """The server's answer to ``request`` and the first line it printed meanwhile."""
    with tempfile.TemporaryFile("w+") as err:
        with _stderr_into(err):
            # raw() reads to the close, which comes after the handler is done, errors included:
            # anything it prints is printed by then.
            answer = raw(server, (request.format(port=port_of(server)) + "\r\n").encode("latin-1"))
        err.seek(0)
        printed = [line for line in err.read().splitlines() if line.strip()]
    return answer, printed[0][:90] if printed else "(printed nothing)"


def _status(answer: bytes) -> str:
    try:
        return f"HTTP {status_of(answer)}"
    except AssertionError:  # status_of's check that a status line came at all
        return "no status line"


def server_rows(job_dir: Path) -> list[list[str]]:
    """One table row per request: fault, frames lost, procs left, files left, secrets, exit
    (the status), message (what the server printed)."""
    record = (job_dir / "job.json").read_bytes()
    rows = []
    with StreamServer(job_dir) as server:
        for name, request in REQUESTS:
            answer, printed = _ask(server, request)
            rows.append([name, "-", "-", "-", str(int(record in answer)), _status(answer), printed])
    return rows
