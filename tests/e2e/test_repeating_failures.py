"""Failures that would repeat are not retried: a filter or the encoder that fails on a chunk's
frames fails the job after one attempt, in one line naming it and ffmpeg's reason.

The first-frame check before a job cannot see these: both chains below work on the first
frame, and fail only on frames after 3 s, in the second of two 2 s chunks. A failure that may
go better next time (a killed worker, a hung task: tests/e2e/test_faults.py; a killed ffmpeg,
too little memory: below) is still retried.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.errors import DiskFullError, EncoderRefusedError, FilterFailedError
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.worker import repeating

runner = CliRunner()

#: drawtext's text expansion fails on a frame whose expression has no value (0/0) from 3 s on.
FILTER_FAILS_LATER = r"drawtext=text='%{eif\:if(gte(t\,3)\,0/0\,1)\:d}'"
#: The frames turn 160 wide at 3 s, while the encoder was opened for 320: libx264 refuses them.
ENCODER_REFUSES_LATER = "scale=w='if(gte(t,3),160,320)':h=-2:eval=frame"


def run(clip: Path, vf: str, tmp_path: Path) -> tuple[int, str, list[dict[str, object]]]:
    """Exit code, output and the journal's events of a ``sprocket filter`` run."""
    jobs = tmp_path / "jobs"
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", vf, "-o", str(tmp_path / "out.mp4"), "-w", "2",
         "--chunk-seconds", "2", "--json", "--job-dir", str(jobs)],
    )  # fmt: skip
    (job_dir,) = jobs.iterdir()
    journal = (job_dir / "journal.jsonl").read_text().splitlines()
    return result.exit_code, result.output, [json.loads(line) for line in journal]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("vf", "named"),
    [
        (FILTER_FAILS_LATER, "filter drawtext failed on the frames: Text expansion expression"),
        (ENCODER_REFUSES_LATER, "encoder libx264 refused the frames: Input picture width (320) is greater"),
    ],
    ids=["filter", "encoder"],
)
def test_a_failure_on_later_frames_fails_once_and_is_named(
    clip: Path, tmp_path: Path, vf: str, named: str
) -> None:
    code, output, journal = run(clip, vf, tmp_path)
    assert code == 8, output
    assert "Traceback" not in output
    (line,) = error_lines(output)
    assert line.startswith("error: chunk 1 failed in decode+filter+encode: "), line
    assert named in line and "attempt" not in line  # one attempt: nothing to count
    # One attempt of chunk 1, from the journal: started once, failed once, not requeued.
    chunk1 = [e for e in journal if e.get("chunk") == 1]
    assert [e["kind"] for e in chunk1 if e["kind"] in ("task_started", "task_failed", "task_queued")] == [
        "task_queued",
        "task_started",
        "task_failed",
    ]
    failed = next(e for e in chunk1 if e["kind"] == "task_failed")
    assert failed["attempt"] == 1 and failed["will_retry"] is False
    assert journal[-1]["kind"] == "job_failed" and named in str(journal[-1]["error"])
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob(".out.mp4*"))  # no temporary, no lock left beside it
    listed = runner.invoke(app, ["jobs", "--job-dir", str(tmp_path / "jobs")])
    assert "failed" in listed.output


def ffmpeg_stderr(*args: str) -> str:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
        capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip


def test_ffmpegs_own_words_tell_what_repeats(clip: Path, tmp_path: Path) -> None:
    """The worker's judgement on real ffmpeg failures, at the log level it runs ffmpeg at."""
    out = str(tmp_path / "out.mp4")
    said = ffmpeg_stderr("-i", str(clip), "-vf", FILTER_FAILS_LATER, "-an", "-y", out)
    assert isinstance(repeating(said, str(tmp_path)), FilterFailedError), said
    said = ffmpeg_stderr("-i", str(clip), "-vf", ENCODER_REFUSES_LATER, "-c:v", "libx264", "-an", "-y", out)
    assert isinstance(repeating(said, str(tmp_path)), EncoderRefusedError), said
    # A picture too large to allocate from 3 s on: ffmpeg says "Cannot allocate memory", which
    # may be the machine's state rather than the filter's fault, so it is worth another attempt.
    huge = "scale=w='if(gte(t,3),70000,320)':h=70000:eval=frame"
    said = ffmpeg_stderr("-i", str(clip), "-vf", huge, "-f", "null", "-")
    assert "Cannot allocate memory" in said and repeating(said, str(tmp_path)) is None
    # Output on a full disk (/dev/full refuses every write with ENOSPC): not retried, and named
    # as the worker's scratch folder, where ffmpeg writes.
    said = ffmpeg_stderr("-i", str(clip), "-an", "-c:v", "libx264", "-f", "matroska", "-y", "/dev/full")
    full = repeating(said, str(tmp_path))
    assert isinstance(full, DiskFullError) and str(full) == f"{tmp_path}: No space left on device", said
    # An input that cannot be read now (a network mount gone for a moment) may be there later.
    said = ffmpeg_stderr("-i", str(tmp_path / "gone.mp4"), "-f", "null", "-")
    assert "No such file or directory" in said and repeating(said, str(tmp_path)) is None


def test_a_killed_ffmpeg_is_not_taken_for_a_repeating_failure(tmp_path: Path) -> None:
    # ffmpeg at its input's pace (-re), killed once it has reported progress.
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-re",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=60", "-c:v", "libx264",
         "-y", str(tmp_path / "out.mp4")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("frame=")  # encoding
    proc.send_signal(signal.SIGKILL)
    _, said = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert repeating(said, str(tmp_path)) is None
