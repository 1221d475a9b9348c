"""The stream server: loopback only, nothing outside the stream folder (the job's record and
journal stay private), right types, byte ranges."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_cli.output.server import StreamServer
from sprocket_cli.storage.memory import MemoryStorage
from tests.conftest import AwsStandIn


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[StreamServer, Path]]:
    job = tmp_path / "job"
    (job / "stream").mkdir(parents=True)
    (job / "stream" / "master.m3u8").write_text("#EXTM3U\n")
    (job / "stream" / "stream.mpd").write_text("<MPD/>")
    (job / "stream" / "seg_00000.m4s").write_bytes(bytes(range(256)) * 4)
    (job / "job.json").write_text('{"secret": "job record"}')
    (job / "journal.jsonl").write_text('{"secret": "journal"}\n')
    (job / "work").mkdir()
    (job / "work" / "chunk_00000.mp4").write_bytes(b"secret work")
    (tmp_path / "secret.txt").write_text("not yours")
    with StreamServer(job) as server:
        yield server, job


def request(
    server: StreamServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    # Raw paths: http.client sends them as given, so traversal attempts reach the server intact.
    conn.request(method, path, headers=headers or {})
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
    "path",
    [
        "/job.json", "/journal.jsonl", "/work/chunk_00000.mp4", "/%6aob.json", "/stream/../job.json",
        "/stream/%2e%2e/journal.jsonl", "/stream", "/stream/", "/player.html/../job.json",
        "/stream/..%2fjob.json", "/stream/%2E%2E%2Fjob.json", "/stream/.%2e/job.json",
    ],
)  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_only_the_stream_folder_is_served(served: tuple[StreamServer, Path], path: str, method: str) -> None:
    server, _ = served
    status, _, body = request(server, path, method=method)
    assert status in (403, 404)
    assert b"secret" not in body


def test_symlinks_out_of_the_stream_folder_are_refused(served: tuple[StreamServer, Path]) -> None:
    server, job = served
    (job / "stream" / "record.m3u8").symlink_to(job / "job.json")
    (job / "stream" / "loop.m4s").symlink_to(job / "stream" / "loop.m4s")
    (job / "stream" / "alias.m4s").symlink_to("seg_00000.m4s")  # within the stream: fine
    status, _, body = request(server, "/stream/record.m3u8")
    assert status == 403 and b"secret" not in body
    assert request(server, "/stream/loop.m4s")[0] == 404
    assert request(server, "/stream/alias.m4s")[:1] == (200,)


def test_directories_and_fifos_are_not_served(served: tuple[StreamServer, Path]) -> None:
    server, job = served
    (job / "stream" / "sub").mkdir()
    (job / "stream" / "sub" / "x.m4s").write_bytes(b"x")
    os.mkfifo(job / "stream" / "pipe.m4s")  # opening it for reading must not hang the handler
    for path in ("/stream/sub", "/stream/sub/", "/stream/pipe.m4s"):
        status, _, body = request(server, path)
        assert status == 404 and b"x.m4s" not in body
    assert request(server, "/stream/sub/x.m4s")[0] == 200  # a rendition's folder, say


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


def test_a_remote_jobs_record_is_not_proxied(tmp_path: Path) -> None:
    store = MemoryStorage()
    store.put_bytes("job.json", b'{"secret": "job record"}')
    store.put_bytes("journal.jsonl", b'{"secret": "journal"}')
    store.put_bytes("stream/master.m3u8", b"#EXTM3U\n")
    with StreamServer(tmp_path, storage=store) as server:
        assert request(server, "/stream/master.m3u8")[::2] == (200, b"#EXTM3U\n")
        for path in ("/job.json", "/journal.jsonl", "/stream/../job.json", "/stream/%2e%2e/job.json"):
            status, _, body = request(server, path)
            assert status in (403, 404) and b"secret" not in body
        status, _, body = request(server, "/stream/master.m3u8", {"Host": "evil.example"})
        assert status == 403 and b"EXTM3U" not in body
