"""One job at a time owns an output path: a second job is refused while the first holds it, a
lock whose process is gone is taken over, and a file that appears at -o while a job runs is
kept rather than replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from sprocket_cli.errors import OutputError
from sprocket_cli.events import TaskFinished
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.jobs.records import lock_path
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from tests.media_checks import facts

runner = CliRunner()
OTHER_JOB = "20260101-000000-beef"


def gray(src: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = [
        "filter",
        str(src),
        "--vf",
        "hue=s=0",
        "-o",
        str(out),
        "-w",
        "2",
        "--job-dir",
        str(out.parent / "jobs"),
    ]
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.output


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("extra", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_second_job_on_a_held_output_is_refused(clip: Path, tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "out.mp4"
    # Another job is writing out.mp4: its lock names a live process (this one).
    held = json.dumps({"job_id": OTHER_JOB, "pid": os.getpid()})
    lock_path(out).write_text(held)

    code, output = gray(clip, out, *extra)
    assert code == 6, output  # OutputError's, --overwrite or not
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output
    assert str(out) in output and OTHER_JOB in output
    assert lock_path(out).read_text() == held  # still the other job's
    assert not out.exists()
    assert not list((tmp_path / "jobs").glob("*/job.json"))  # refused before a job folder exists


def test_lock_of_a_dead_process_is_taken_over(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    lock_path(out).write_text(json.dumps({"job_id": OTHER_JOB, "pid": dead_pid()}))
    code, output = gray(clip, out)
    assert code == 0, output
    assert facts(out).frames == facts(clip).frames
    assert not lock_path(out).exists()  # dropped once the file is in place


def test_lock_is_held_while_the_job_runs_and_dropped_after(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=1, chunk_seconds=1.0, job_parent=tmp_path / "jobs")
    job = prepare_job(spec, {"input_0": str(clip)}, {"output_0": out}, options)
    lock = json.loads(lock_path(out).read_text())
    assert (lock["job_id"], lock["pid"]) == (job.job_id, os.getpid())
    assert lock_path(out).stat().st_mode & 0o777 == 0o600

    code, output = gray(clip, out)  # a second job while the first has not even begun
    assert code == 6 and job.job_id in output, output

    list(execute(job))
    assert not lock_path(out).exists()
    assert facts(out).frames == facts(clip).frames


def test_a_file_that_appears_at_the_output_during_the_job_is_kept(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=1, chunk_seconds=1.0, job_parent=tmp_path / "jobs")
    events = execute(prepare_job(spec, {"input_0": str(clip)}, {"output_0": out}, options))
    # The job is a generator: while this loop holds an event, the job cannot reach assembly.
    for event in events:
        if isinstance(event, TaskFinished):
            out.write_bytes(b"written by hand meanwhile")
            break
    with pytest.raises(OutputError, match="someone else wrote this file"):
        list(events)
    assert out.read_bytes() == b"written by hand meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs", "out.mp4"]  # no lock, no .part
