"""An s3:// input on the local backend: read in place through a URL presigned for the run,
which is never written to disk or printed; the record keeps s3://, so a resume signs anew."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from typer.testing import CliRunner

from sprocket_cli.cli import app
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
