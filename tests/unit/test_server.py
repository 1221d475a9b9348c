"""The stream server: loopback only, nothing outside the job folder, right types, byte ranges."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_cli.output.server import StreamServer
from tests.conftest import AwsStandIn


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[StreamServer, Path]]:
    job = tmp_path / "job"
    (job / "stream").mkdir(parents=True)
    (job / "stream" / "master.m3u8").write_text("#EXTM3U\n")
    (job / "stream" / "stream.mpd").write_text("<MPD/>")
    (job / "stream" / "seg_00000.m4s").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "secret.txt").write_text("not yours")
    with StreamServer(job) as server:
        yield server, job


def request(
    server: StreamServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    # Raw paths: http.client sends them as given, so traversal attempts reach the server intact.
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def test_binds_only_loopback(served: tuple[StreamServer, Path]) -> None:
    server, _ = served
    assert server.url.startswith("http://127.0.0.1:")
    assert server.bound_address == "127.0.0.1"  # the listening socket, not just the URL we print


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/stream/../../secret.txt", "/%2e%2e/secret.txt", "/stream/%2e%2e/%2e%2e/secret.txt"],
)
def test_refuses_paths_outside_the_job_folder(served: tuple[StreamServer, Path], path: str) -> None:
    server, _ = served
    status, _, body = request(server, path)
    assert status in (403, 404)
    assert b"not yours" not in body


@pytest.mark.parametrize(
    ("path", "mime", "cache"),
    [
        ("/stream/master.m3u8", "application/vnd.apple.mpegurl", "no-cache"),
        ("/stream/stream.mpd", "application/dash+xml", "no-cache"),
        ("/stream/seg_00000.m4s", "video/iso.segment", "max-age=3600"),
        ("/", "text/html; charset=utf-8", "max-age=3600"),
        ("/hls.min.js", "text/javascript; charset=utf-8", "max-age=3600"),
    ],
)
def test_mime_types(served: tuple[StreamServer, Path], path: str, mime: str, cache: str) -> None:
    server, _ = served
    status, headers, body = request(server, path)
    assert status == 200 and body
    assert headers["content-type"] == mime
    assert headers["cache-control"] == cache


def test_byte_ranges(served: tuple[StreamServer, Path]) -> None:
    server, job = served
    data = (job / "stream" / "seg_00000.m4s").read_bytes()
    status, headers, body = request(server, "/stream/seg_00000.m4s", {"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(data)}"
    status, _, body = request(server, "/stream/seg_00000.m4s", {"Range": "bytes=-5"})
    assert status == 206 and body == data[-5:]
    status, _, body = request(server, "/stream/seg_00000.m4s", {"Range": "bytes=1000-"})
    assert status == 206 and body == data[1000:]
    status, headers, _ = request(server, "/stream/seg_00000.m4s", {"Range": "bytes=5000-6000"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"


def test_missing_file_is_404(served: tuple[StreamServer, Path]) -> None:
    server, _ = served
    assert request(server, "/stream/seg_00099.m4s")[0] == 404


def test_a_remote_jobs_stream_is_proxied_from_s3_with_ranges(aws: AwsStandIn, tmp_path: Path) -> None:
    import boto3

    from sprocket_cli.storage.s3 import S3Storage

    boto3.client("s3").create_bucket(Bucket="sprocket-stream")
    store = S3Storage("sprocket-stream", "jobs/j1")
    store.put_bytes("stream/master.m3u8", b"#EXTM3U\n")
    store.put_bytes("stream/seg_00000.m4s", bytes(range(256)) * 4)
    with StreamServer(tmp_path, storage=store) as server:
        status, headers, body = request(server, "/stream/master.m3u8")
        assert (status, body) == (200, b"#EXTM3U\n")
        assert headers["content-type"] == "application/vnd.apple.mpegurl"
        assert headers["cache-control"] == "no-cache"  # a live playlist is fetched again
        status, headers, body = request(server, "/stream/seg_00000.m4s", {"Range": "bytes=256-511"})
        assert (status, body, headers["content-range"]) == (206, bytes(range(256)), "bytes 256-511/1024")
        assert request(server, "/stream/seg_99999.m4s")[0] == 404
        assert request(server, "/../j2/stream/master.m3u8")[0] == 403  # not another job's keys
