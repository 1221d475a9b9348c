"""The stream server under hostile or broken clients: foreign Host names (DNS rebinding) are
refused, malformed requests get a 4xx, and nothing prints a traceback on the user's terminal."""

from __future__ import annotations

import http.client
import logging
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_cli.output import server as server_module
from sprocket_cli.output.server import StreamServer

SECRET = b"job-record-secret"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[StreamServer]:
    job = tmp_path / "job"
    (job / "stream").mkdir(parents=True)
    (job / "stream" / "master.m3u8").write_text("#EXTM3U\n")
    (job / "stream" / "seg_00000.m4s").write_bytes(bytes(range(256)) * 4)
    (job / "job.json").write_bytes(b'{"note": "' + SECRET + b'"}')
    (job / "journal.jsonl").write_bytes(b'{"note": "' + SECRET + b'"}\n')
    with StreamServer(job) as server:
        yield server


def port_of(server: StreamServer) -> int:
    return int(server.url.rstrip("/").rsplit(":", 1)[1])


def raw(server: StreamServer, data: bytes) -> bytes:
    """Everything the server answers to ``data``, read until it closes the connection.

    The server speaks HTTP/1.0 and closes after each answer, and closes only once its handler
    is done (error handling included), so by EOF anything it would print has been printed."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    line = response.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1."), response[:200]  # a status line, never a bare body
    return int(line.split()[1])


def get(server: StreamServer, path: str, host: str | None, extra: str = "") -> bytes:
    host_line = "" if host is None else f"Host: {host}\r\n"
    return raw(server, f"GET {path} HTTP/1.1\r\n{host_line}{extra}\r\n".encode("latin-1"))


def no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    out, err = capfd.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert "Exception occurred" not in err  # socketserver's banner before a traceback


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
@pytest.mark.parametrize("with_port", [True, False])
def test_loopback_hosts_are_answered(
    served: StreamServer, capfd: pytest.CaptureFixture[str], host: str, with_port: bool
) -> None:
    name = f"{host}:{port_of(served)}" if with_port else host
    response = get(served, "/stream/master.m3u8", name)
    assert status_of(response) == 200 and response.endswith(b"#EXTM3U\n")
    no_traceback(capfd)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "localhost.evil.example",
        "127.0.0.1:1", "localhost:{port}0", "127.0.0.1:{port}@evil.example", "evil.example#127.0.0.1",
        "127.0.0.2:{port}", "0.0.0.0:{port}", "[::1]x", "", " ",
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/stream/master.m3u8", "/", "/hls.min.js", "/job.json"])
def test_foreign_hosts_are_refused(
    served: StreamServer, capfd: pytest.CaptureFixture[str], host: str, path: str
) -> None:
    response = get(served, path, host.format(port=port_of(served)))
    assert status_of(response) in (403, 421)
    body = response.partition(b"\r\n\r\n")[2]
    assert b"EXTM3U" not in body and SECRET not in body and b"<video" not in body
    no_traceback(capfd)


def test_a_foreign_host_is_refused_with_http_client(served: StreamServer) -> None:
    # What a rebound page's fetch() sends: the right address, the attacker's name.
    conn = http.client.HTTPConnection("127.0.0.1", port_of(served), timeout=10)
    conn.request("GET", "/stream/master.m3u8", headers={"Host": "attacker.example"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 403 and b"EXTM3U" not in body


def test_a_missing_or_doubled_host_is_refused(
    served: StreamServer, capfd: pytest.CaptureFixture[str]
) -> None:
    port = port_of(served)
    for response in (
        get(served, "/stream/master.m3u8", None),
        get(served, "/stream/master.m3u8", f"127.0.0.1:{port}", "Host: evil.example\r\n"),
        raw(served, b"GET /job.json\r\n\r\n"),  # HTTP/0.9 style: no version, no Host
    ):
        assert status_of(response) in (400, 403, 421)
        assert b"EXTM3U" not in response and SECRET not in response
    no_traceback(capfd)


LOOPBACK = "127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("line", "headers", "expected"),
    [
        # NUL and other control characters: escaped, or raw in the request line
        ("GET /stream/seg_00000.m4s%00.html HTTP/1.1", "", 400),
        ("GET /stream/seg_00000.m4s%00 HTTP/1.1", "", 400),
        ("GET /stream/seg\x00.m4s HTTP/1.1", "", 400),
        ("GET /stream/a%0d%0aSet-Cookie:%20x HTTP/1.1", "", 400),
        ("GET /stream/%7f HTTP/1.1", "", 400),
        # percent-encoding that does not decode, or decodes to no UTF-8
        ("GET /stream/%zz HTTP/1.1", "", 400),
        ("GET /stream/seg%2 HTTP/1.1", "", 400),
        ("GET /stream/% HTTP/1.1", "", 400),
        ("GET /stream/%ff.m4s HTTP/1.1", "", 400),
        ("GET /stream/%c0%ae%c0%ae/job.json HTTP/1.1", "", 400),  # overlong '.'
        ("GET /stream/\xe9.m4s HTTP/1.1", "", 400),  # a raw byte, not escaped
        # overlong targets
        ("GET /stream/" + "a" * 5000 + ".m4s HTTP/1.1", "", 414),
        ("GET /" + "%2e%2e/" * 1000 + "job.json HTTP/1.1", "", 414),
        # targets that are not a path
        ("GET http://evil.example/stream/master.m3u8 HTTP/1.1", "", 400),
        ("GET //evil.example/job.json HTTP/1.1", "", 404),
        ("GET * HTTP/1.1", "", 400),
        ("GET stream/master.m3u8 HTTP/1.1", "", 400),
        ("GET /stream/a b.m4s HTTP/1.1", "", 400),
        # broken request lines and versions
        ("HELLO", "", 400),
        ("GET / HTTP/1.1x", "", 400),
        ("GET / HTTP/one", "", 400),
        ("GET / FTP/1.0", "", 400),
        # methods this server does not have
        ("POST /stream/master.m3u8 HTTP/1.1", "", 405),
        ("PUT /stream/master.m3u8 HTTP/1.1", "", 405),
        ("DELETE /job.json HTTP/1.1", "", 405),
        ("OPTIONS * HTTP/1.1", "", 405),
        ("TRACE / HTTP/1.1", "", 405),
        ("CONNECT 127.0.0.1:22 HTTP/1.1", "", 405),
        ("get / HTTP/1.1", "", 405),
        ("G\x01T / HTTP/1.1", "", 405),
        ("X" * 3000 + " / HTTP/1.1", "", 405),
        ("__init__ / HTTP/1.1", "", 405),
        # Range headers that do not parse, or ask for bytes the file lacks
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=" + "9" * 5000 + "-\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=-\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=5-2\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=0-1,4-5\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: items=0-1\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=abc\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=\xd9\xa1-\r\n", 416),  # Arabic-Indic 1
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=0-1\r\nRange: bytes=2-3\r\n", 416),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=-" + "9" * 5000 + "\r\n", 206),
        ("GET /stream/seg_00000.m4s HTTP/1.1", "Range: bytes=0-" + "9" * 5000 + "\r\n", 206),
        # too many headers
        ("GET /stream/master.m3u8 HTTP/1.1", "X-Pad: 1\r\n" * 101, 431),
    ],
)
def test_malformed_requests_get_a_4xx_and_no_traceback(
    served: StreamServer, capfd: pytest.CaptureFixture[str], line: str, headers: str, expected: int
) -> None:
    host = "Host: " + LOOPBACK.format(port=port_of(served)) + "\r\n"
    response = raw(served, f"{line}\r\n{host}{headers}\r\n".encode("latin-1"))
    assert status_of(response) == expected
    assert SECRET not in response
    no_traceback(capfd)


def test_an_overlong_request_line_gets_414(served: StreamServer, capfd: pytest.CaptureFixture[str]) -> None:
    # Exactly one byte over the base class's 64 KiB limit, with no line end: the server reads all
    # of it, so its close is a clean FIN and the answer cannot be lost to a reset.
    response = raw(served, b"GET /" + b"a" * (65537 - len(b"GET /")))
    assert status_of(response) == 414
    no_traceback(capfd)


def test_a_head_refusal_has_no_body(served: StreamServer) -> None:
    response = raw(served, b"HEAD /job.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status_of(response) == 404
    assert response.endswith(b"\r\n\r\n")  # headers only


def test_a_client_hanging_up_mid_segment_prints_nothing(
    served: StreamServer, capfd: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A player that seeks or closes its tab drops the connection while a segment is sent.
    (tmp_path / "job" / "stream" / "big.m4s").write_bytes(b"\0" * (16 << 20))
    httpd = served._httpd
    done = threading.Event()
    errors: list[BaseException | None] = []
    handle_error, shutdown_request = httpd.handle_error, httpd.shutdown_request

    def spy_error(request: object, client_address: object) -> None:
        errors.append(sys.exception())
        handle_error(request, client_address)  # type: ignore[arg-type]

    def spy_shutdown(request: socket.socket) -> None:
        shutdown_request(request)
        done.set()  # the handler thread's last step for this connection

    monkeypatch.setattr(httpd, "handle_error", spy_error)
    monkeypatch.setattr(httpd, "shutdown_request", spy_shutdown)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so 16 MiB cannot all be buffered
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port_of(served)))
    sock.sendall(b"GET /stream/big.m4s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(1024).startswith(b"HTTP/1.0 200")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
    sock.close()
    assert done.wait(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], ConnectionError)
    no_traceback(capfd)


def test_a_bug_in_the_handler_is_a_500_and_a_debug_log_not_a_traceback(
    served: StreamServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> bytes:
        raise RuntimeError(f"cannot read {name}")

    monkeypatch.setattr(server_module, "static_file", broken)
    with caplog.at_level(logging.DEBUG, logger=server_module.__name__):
        response = get(served, "/", "localhost")
    assert status_of(response) == 500
    assert b"cannot read" not in response  # no internals to the client either
    assert any(r.exc_info and r.levelno == logging.DEBUG for r in caplog.records)
    no_traceback(capfd)
