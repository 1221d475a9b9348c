"""What S3 storage does beyond the conformance suite, against moto's server over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.storage.s3 import PART_SIZE, S3Storage, split_s3_url
from tests.conftest import AwsStandIn

BUCKET = "sprocket-s3-tests"


@pytest.fixture
def bucket(aws: AwsStandIn) -> str:
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def _random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _framemd5(source: str) -> list[str]:
    """One line per decoded video frame (real ffmpeg), without the header comments."""
    args = ["-nostdin", "-loglevel", "error", "-i", source, "-map", "0:v", "-f", "framemd5", "-"]
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), *args], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if not line.startswith("#")]


def test_big_files_go_in_parts_both_ways(bucket: str, tmp_path: Path) -> None:
    import boto3

    store = S3Storage(bucket, "jobs/j1", multipart_threshold=1024 * 1024)
    src = tmp_path / "big.bin"
    data = _random_file(src, 2 * PART_SIZE + 123_456)
    assert store.put_file("out/big.bin", str(src)) is True
    assert not src.exists()
    # A multipart object's ETag ends in "-<number of parts>".
    etag = boto3.client("s3").head_object(Bucket=bucket, Key="jobs/j1/out/big.bin")["ETag"]
    assert etag.strip('"').endswith("-3")
    dest = tmp_path / "back" / "big.bin"
    dest.parent.mkdir()
    store.get_file("out/big.bin", str(dest))
    assert dest.read_bytes() == data
    assert os.listdir(dest.parent) == ["big.bin"]  # the temporary was renamed into place


def test_exclusive_holds_for_multipart_uploads(bucket: str, tmp_path: Path) -> None:
    import boto3

    store = S3Storage(bucket, multipart_threshold=1024 * 1024)
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    data = _random_file(first, PART_SIZE + 1)
    _random_file(second, PART_SIZE + 2)
    assert store.put_file("seg.m4s", str(first), exclusive=True) is True
    assert store.put_file("seg.m4s", str(second), exclusive=True) is False
    assert not second.exists()
    assert store.get_bytes("seg.m4s") == data
    # The loser's parts are aborted, not left stored.
    assert "Uploads" not in boto3.client("s3").list_multipart_uploads(Bucket=bucket)


def test_presigned_url_is_read_by_ffmpeg(bucket: str, clip: Path, tmp_path: Path, aws: AwsStandIn) -> None:
    store = S3Storage(bucket, "jobs/j1")
    copy = tmp_path / "clip.mp4"
    shutil.copyfile(clip, copy)
    store.put_file("in/clip.mp4", str(copy))
    url = store.url("in/clip.mp4")
    assert url.startswith(f"{aws.endpoint}/") and "X-Amz-Expires=21600" in url
    # The clip's index (moov) is at its end, so ffmpeg reads it through range requests.
    frames = _framemd5(url)
    assert len(frames) == 100  # 4 s at 25 fps
    assert frames == _framemd5(str(clip))


def test_missing_keys_are_key_errors(bucket: str, tmp_path: Path) -> None:
    store = S3Storage(bucket)
    with pytest.raises(KeyError):
        store.get_bytes("nothing")
    with pytest.raises(KeyError):
        store.get_file("nothing", str(tmp_path / "nothing"))
    assert not store.exists("nothing")
    assert os.listdir(tmp_path) == []  # no temporary left behind


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/abs", "a//b", "./a", "a/", ""])
def test_keys_must_be_plain_relative_paths(bucket: str, key: str) -> None:
    store = S3Storage(bucket, "jobs/j1")
    with pytest.raises(ValueError):
        store.put_bytes(key, b"no")
    assert store.list() == []


def test_prefix_scopes_keys_and_spec(bucket: str) -> None:
    one = S3Storage(bucket, "/jobs/j1/")
    S3Storage(bucket, "jobs/j2").put_bytes("x", b"other job")
    one.put_bytes("x", b"this job")
    assert one.spec() == StorageSpec("s3", f"{bucket}/jobs/j1")
    assert open_storage(one.spec()).list() == ["x"]
    assert open_storage(StorageSpec("s3", bucket)).list() == ["jobs/j1/x", "jobs/j2/x"]
    assert one.get_bytes("x") == b"this job"


def test_list_pages_past_a_thousand_keys(bucket: str) -> None:
    store = S3Storage(bucket, "jobs/j1")
    keys = [f"seg/{n:05d}.m4s" for n in range(1003)]  # S3 lists at most 1,000 keys a page
    for key in keys:  # one by one: moto serves them no faster in parallel (~12 ms each)
        store.put_bytes(key, b"")
    assert store.list("seg/") == keys


def test_s3_urls_split_into_bucket_and_key() -> None:
    assert split_s3_url("s3://media/in/clip.mp4") == ("media", "in/clip.mp4")
    assert split_s3_url("s3://media") == ("media", "")
    for bad in ("https://media/in.mp4", "s3:///in.mp4", "media/in.mp4"):
        with pytest.raises(ValueError):
            split_s3_url(bad)


def test_importing_storage_loads_no_boto3() -> None:
    code = "import sys, json, sprocket_cli.storage.s3; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    assert not loaded & {"boto3", "botocore", "s3transfer"}
