"""An s3:// input on the local backend: read in place through URLs presigned for each task as
it is dispatched, never written to disk or printed; the record and the tasks keep s3://, so a
resume signs anew. boto3's credentials carry a session token (the stand-in's environment), as
temporary credentials do: it is part of every signed URL, so a leak would show as X-Amz-."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from sprocket_cli.errors import JobFailedError
from sprocket_cli.events import JobCancelled, SegmentReady
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.session import JobRequest, start
from tests.conftest import AwsStandIn
from tests.media_checks import facts

runner = CliRunner()
BUCKET = "footage"


def test_an_s3_input_leaves_no_signed_url_on_disk_or_screen(
    aws: AwsStandIn, clip: Path, tmp_path: Path
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(clip), BUCKET, "in/clip.mp4")
    out, jobs = tmp_path / "out.mp4", tmp_path / "jobs"
    url = f"s3://{BUCKET}/in/clip.mp4"
    result = runner.invoke(
        app, ["filter", url, "--vf", "hue=s=0", "-o", str(out), "--chunk-seconds", "1", "--json",
              "--job-dir", str(jobs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert facts(out).frames == facts(clip).frames
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events[0]["inputs"] == {"input_0": url}
    assert "X-Amz-" not in result.output
    written = [p for p in jobs.rglob("*") if p.is_file()]
    assert any(p.name == "job.json" for p in written)
    leaks = [p for p in written if b"X-Amz-" in p.read_bytes()]
    assert not leaks, f"a signed URL was written to {leaks}"
    record = json.loads(next(p for p in written if p.name == "job.json").read_text())
    assert record["inputs"] == {"input_0": url}
    listing = runner.invoke(app, ["jobs", "--job-dir", str(jobs)], env={"COLUMNS": "200"})
    assert url in listing.output and "X-Amz-" not in listing.output


def test_a_missing_object_is_refused_in_one_line(aws: AwsStandIn, tmp_path: Path) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["filter", f"s3://{BUCKET}/nope.mp4", "--vf", "null", "-o", str(out)])
    assert result.exit_code == 4
    assert (
        result.stderr.strip()
        == f"error: s3://{BUCKET}/nope.mp4: no such object (or no permission to read it)"
    )
    assert not out.exists()


def test_ffmpeg_errors_naming_a_signed_url_lose_its_signature() -> None:
    from sprocket_cli.media.ffmpeg import last_error_lines

    stderr = (
        "https://footage.s3.amazonaws.com/in/clip.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Security-Token=abc&X-Amz-Signature=f00 Server returned 403"
    )
    line = last_error_lines(stderr)
    assert "X-Amz-" not in line and "AKIAEXAMPLE" not in line
    assert line.startswith("https://footage.s3.amazonaws.com/in/clip.mp4?(signature removed)")


def _leaks(folder: Path) -> list[Path]:
    """Every file under ``folder`` holding a signed URL's query."""
    return [p for p in folder.rglob("*") if p.is_file() and b"X-Amz-" in p.read_bytes()]


def _upload(clip: Path) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(clip), BUCKET, "in/clip.mp4")
    return f"s3://{BUCKET}/in/clip.mp4"


def test_a_cancelled_s3_job_resumes_from_elsewhere_with_nothing_signed_kept(
    aws: AwsStandIn, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, jobs, out = _upload(clip), tmp_path / "jobs", tmp_path / "out.mp4"
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    handle = start(
        JobRequest(
            spec,
            {"input_0": url},
            {"output_0": out},
            JobOptions(workers=1, chunk_seconds=1.0, job_parent=jobs),
        )
    )
    assert handle.job.inputs["input_0"].source == url  # what tasks carry: the name, not a URL
    seen = []
    with pytest.raises(Exception, match="cancelled"):
        for event in handle.events():
            seen.append(event)
            if isinstance(event, SegmentReady):
                handle.cancel()
    assert isinstance(seen[-1], JobCancelled)
    assert not _leaks(jobs)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    resumed = runner.invoke(app, ["resume", handle.job_id, "--json", "--job-dir", str(jobs)])
    assert resumed.exit_code == 0, resumed.output
    assert "X-Amz-" not in resumed.output
    assert facts(out).frames == facts(clip).frames
    assert not _leaks(jobs)
    for name in ("job.json", "journal.jsonl"):
        assert (handle.job_dir / name).stat().st_mode & 0o777 == 0o600


def test_an_object_gone_mid_job_fails_without_a_signature_anywhere(
    aws: AwsStandIn, clip: Path, tmp_path: Path
) -> None:
    url, jobs = _upload(clip), tmp_path / "jobs"
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=2, chunk_seconds=1.0, job_parent=jobs, retries=1)
    handle = start(JobRequest(spec, {"input_0": url}, {"output_0": tmp_path / "out.mp4"}, options))
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="in/clip.mp4")  # after the probe
    with pytest.raises(JobFailedError) as failed:
        handle.result()
    # ffmpeg's error names the URL it was given; the message keeps where, not the signature.
    assert "404" in str(failed.value) and "X-Amz-" not in str(failed.value)
    assert not _leaks(jobs)
    listing = runner.invoke(app, ["jobs", "--job-dir", str(jobs)], env={"COLUMNS": "200"})
    assert "failed" in listing.output and "X-Amz-" not in listing.output
