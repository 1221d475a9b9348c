"""`sprocket clean` frees what a stopped job left half-written (temporaries a kill or a full
disk left, the segments joined for assembly), not only its intermediates; with --all, a failed
job's whole folder."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.jobs.leftovers import JOINED_VIDEO
from sprocket_cli.jobs.records import status

runner = CliRunner()


def failed_job(clip: Path, jobs: Path) -> Path:
    """A real job that failed: its filters leave no frame (it fails on its first chunk)."""
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", "select=0", "-o", str(jobs.parent / "out.mp4"), "--job-dir", str(jobs)],
    )
    assert result.exit_code == 8, result.output
    (job_dir,) = jobs.iterdir()
    assert status(job_dir).state == "failed"
    return job_dir


def freed_mb(output: str) -> float:
    found = re.search(r"cleaned (\d+) jobs, freed ([\d.]+) MB", output)
    assert found is not None, output
    return float(found.group(2))


def test_clean_removes_what_was_left_half_written(clip: Path, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    job_dir = failed_job(clip, jobs)
    # As a kill -9 mid-write leaves them: a segment's temporary, the joined segments.
    (job_dir / "stream").mkdir(exist_ok=True)
    part = job_dir / "stream" / ".seg_00003.m4s.k2j4h1x9.part"
    part.write_bytes(b"\0" * 300_000)
    joined = job_dir / JOINED_VIDEO
    joined.write_bytes(b"\0" * 400_000)
    kept = job_dir / "stream" / "seg_00000.m4s"
    kept.write_bytes(b"\0" * 1000)  # a finished segment: a resume reuses it

    result = runner.invoke(app, ["clean", "--job-dir", str(jobs)])
    assert result.exit_code == 0, result.output
    assert freed_mb(result.output) >= 0.7
    assert not part.exists() and not joined.exists()
    assert kept.exists() and (job_dir / "job.json").exists()  # what a resume needs stays

    result = runner.invoke(app, ["clean", "--all", "--job-dir", str(jobs)])
    assert result.exit_code == 0, result.output
    assert "cleaned 1 jobs" in result.output
    assert not job_dir.exists()  # a failed job: nothing to keep for
