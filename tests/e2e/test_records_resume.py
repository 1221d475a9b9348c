"""What a job records lets it be resumed from anywhere, by its owner only, and without losing
files: inputs are absolute, job files are 0600, a user's file at -o is kept, and the
temporaries of a killed assembly are cleared."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.jobs.records import lock_path
from tests.conftest import ClipMaker
from tests.interrupt import kill_after_chunk
from tests.media_checks import facts

runner = CliRunner()
CHUNKS = 4


def filter_args(src: str, out: str, jobs: Path, *extra: str) -> list[str]:
    return ["filter", src, "--vf", "hue=s=0", "-o", out, "-w", "1", "--chunk-seconds", "1",
            "--json", "--job-dir", str(jobs), *extra]  # fmt: skip


def interrupt(args: list[str], cwd: Path) -> str:
    """Run ``sprocket *args`` in ``cwd`` and kill it once chunk 1 is done; the job id. Chunk 2
    stalls, so the job cannot finish before the kill however fast the machine."""
    return kill_after_chunk([*args, "--inject", "2:sleep=60"], 1, cwd)


@pytest.fixture
def started(make_clip: ClipMaker, tmp_path: Path) -> tuple[Path, Path, str]:
    """A job started in ``first/`` on ``clip.mp4`` and ``-o out.mp4`` as typed there, killed
    half way: (that folder, the jobs folder, the job id)."""
    first, jobs = tmp_path / "first", tmp_path / "jobs"
    first.mkdir()
    shutil.copyfile(make_clip(seconds=CHUNKS, keyint=25), first / "clip.mp4")
    return first, jobs, interrupt(filter_args("clip.mp4", "out.mp4", jobs), first)


def resume_elsewhere(
    job_id: str, jobs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["resume", job_id, "--job-dir", str(jobs), "--json"])
    return result.exit_code, result.output


def test_resume_from_another_folder(
    started: tuple[Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, jobs, job_id = started
    record = json.loads((jobs / job_id / "job.json").read_text())
    assert record["inputs"] == {"input_0": str(first / "clip.mp4")}

    code, output = resume_elsewhere(job_id, jobs, tmp_path, monkeypatch)
    assert code == 0, output
    assert facts(first / "out.mp4").frames == facts(first / "clip.mp4").frames
    assert not lock_path(first / "out.mp4").exists()  # the killed run's lock, taken over and dropped


def test_job_files_are_private(started: tuple[Path, Path, str]) -> None:
    first, jobs, job_id = started
    for name in ("job.json", "journal.jsonl"):
        assert (jobs / job_id / name).stat().st_mode & 0o777 == 0o600, name
    assert lock_path(first / "out.mp4").stat().st_mode & 0o777 == 0o600  # names the job folder
    # A resume writes the record again: still private.
    assert runner.invoke(app, ["resume", job_id, "--job-dir", str(jobs)]).exit_code == 0
    assert (jobs / job_id / "job.json").stat().st_mode & 0o777 == 0o600


def test_resume_keeps_a_file_written_at_the_output_since(
    started: tuple[Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, jobs, job_id = started
    out = first / "out.mp4"
    out.write_bytes(b"the user's own video")

    code, output = resume_elsewhere(job_id, jobs, tmp_path, monkeypatch)
    assert code == 6, output  # OutputError's
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output
    assert str(out) in output and job_id in output
    assert out.read_bytes() == b"the user's own video"
    assert not lock_path(out).exists()

    # Rerunning the job's command with --resume --overwrite says the user means it.
    monkeypatch.chdir(first)
    result = runner.invoke(app, filter_args("clip.mp4", "out.mp4", jobs, "--resume", "--overwrite"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0])["job_id"] == job_id
    assert facts(out).frames == facts(first / "clip.mp4").frames


def test_resume_removes_what_a_killed_assembly_left(
    started: tuple[Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, jobs, job_id = started
    # What a kill during assembly leaves: a temporary named as assemble names them.
    fd, left = tempfile.mkstemp(dir=first, prefix=".out.mp4.", suffix=".part")
    os.close(fd)
    mine = first / ".out.mp4.keep-me.part"  # not a name mkstemp gives: someone else's
    mine.write_bytes(b"keep")

    code, output = resume_elsewhere(job_id, jobs, tmp_path, monkeypatch)
    assert code == 0, output
    assert not Path(left).exists()
    assert mine.read_bytes() == b"keep"
    assert sorted(p.name for p in first.iterdir()) == [".out.mp4.keep-me.part", "clip.mp4", "out.mp4"]


def test_a_killed_jobs_lock_is_taken_over_by_a_new_job(
    started: tuple[Path, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, jobs, job_id = started
    assert job_id in lock_path(first / "out.mp4").read_text()  # left by the kill; its pid is dead
    monkeypatch.chdir(first)
    result = runner.invoke(app, filter_args("clip.mp4", "out.mp4", jobs))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0])["job_id"] != job_id
    assert not lock_path(first / "out.mp4").exists()
