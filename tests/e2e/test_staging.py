"""Staging a local source for remote workers: chunk files cut by stream copy give exactly the
frames that reading the source itself gives, whatever the container's time base and GOP."""

from __future__ import annotations

from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.events import ChunkStaged, Event, JobFinished
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import probe
from sprocket_cli.run.staging import Stager, StagingError
from tests.conftest import AwsStandIn, ClipMaker
from tests.media_checks import facts


def gray(src: Path, out: Path, *, staged: bool) -> list[Event]:
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(
        workers=2, chunk_seconds=1.0, job_parent=out.parent / "jobs", stage_local_inputs=staged
    )
    return list(execute(prepare_job(spec, {"input_0": str(src)}, {"output_0": out}, options)))


@pytest.mark.parametrize(
    ("name", "remux"),
    [
        ("mp4", []),  # time base 1/12800
        ("mkv", []),  # 1/1000: MP4 chunk files refine it to 1/16000
        ("mov", ["-video_track_timescale", "600"]),  # QuickTime's 600, refined to 19200
    ],
)
def test_staged_chunks_give_the_same_frames(
    make_clip: ClipMaker, tmp_path: Path, name: str, remux: list[str]
) -> None:
    src = tmp_path / f"source.{name}"
    run_ffmpeg(
        ["-i", str(make_clip(seconds=4, keyint=25)), "-c", "copy", *remux, "-y", str(src)], what="remux"
    )
    events = gray(src, tmp_path / "staged.mp4", staged=True)
    gray(src, tmp_path / "direct.mp4", staged=False)
    assert len([e for e in events if isinstance(e, ChunkStaged)]) == 4
    assert isinstance(events[-1], JobFinished)
    assert facts(tmp_path / "staged.mp4").frame_hashes == facts(tmp_path / "direct.mp4").frame_hashes


def test_sparse_keyframes_stage_with_their_preroll(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4, keyint=None)  # one keyframe: every chunk decodes from the first frame
    gray(src, tmp_path / "staged.mp4", staged=True)
    gray(src, tmp_path / "direct.mp4", staged=False)
    assert facts(tmp_path / "staged.mp4").frame_hashes == facts(tmp_path / "direct.mp4").frame_hashes


def test_an_upload_that_fails_is_a_one_line_staging_error(clip: Path, aws: AwsStandIn) -> None:
    from sprocket_cli.storage.s3 import S3Storage

    plan = plan_chunks(probe(str(clip)), 1.0)
    stager = Stager("input_0", str(clip), plan, S3Storage("no-such-bucket", "jobs/j"), "work/source")
    try:
        failed = r"input_0: uploading a chunk to storage failed: .*NoSuchBucket"
        with pytest.raises(StagingError, match=failed):
            while stager.pending:
                stager.take(5.0)
    finally:
        stager.close()


@pytest.mark.parametrize(("keyint", "files"), [(None, 1), (50, 2)])
def test_sparse_keyframes_upload_each_byte_about_once(
    make_clip: ClipMaker, aws: AwsStandIn, keyint: int | None, files: int
) -> None:
    """Eight chunks on one keyframe: a file per chunk from the keyframe on sent the source 4.5
    times over (1/8 + 2/8 + ... + 8/8); on a keyframe every 2 s (four chunks each), 2.5 times.
    Shared per keyframe, it is sent once (plus MP4 headers)."""
    import boto3

    from sprocket_cli.storage.s3 import S3Storage

    src = make_clip(seconds=4, keyint=keyint)
    plan = plan_chunks(probe(str(src)), 0.5)
    assert len(plan.chunks) == 8 and len({c.seek_pts for c in plan.chunks}) == files
    client = boto3.client("s3")
    client.create_bucket(Bucket="staging-bytes")
    sent: list[int] = []

    def count(request: object, **_: object) -> None:
        # The bytes of each PutObject/UploadPart as they go to moto's server.
        sent.append(int(getattr(request, "headers", {}).get("Content-Length", 0)))

    for op in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-send.s3.{op}", count)
    stager = Stager("input_0", str(src), plan, S3Storage("staging-bytes", "jobs/j", client), "work/source")
    staged = []
    try:
        while stager.pending:
            staged += stager.take(5.0)
    finally:
        stager.close()
    assert sorted(s.chunk for s in staged) == list(range(8))
    assert len({s.key for s in staged}) == files  # one per keyframe, which its chunks read
    source = src.stat().st_size
    assert sum(sent) <= source * 1.1, (sum(sent), source)
    assert sum(s.bytes for s in staged) == sum(sent)  # the job's upload total is what was sent
