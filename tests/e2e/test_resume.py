"""Kill -9 the coordinator mid-job, then resume: no finished chunk is redone and the output
is the same as an uninterrupted run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.conftest import ClipMaker
from tests.interrupt import kill_after_chunk
from tests.media_checks import facts

runner = CliRunner()
CHUNKS = 8


def filter_args(src: Path, out: Path, jobs: Path) -> list[str]:
    return ["filter", str(src), "--vf", "hue=s=0", "-o", str(out), "-w", "1", "--chunk-seconds", "1",
            "--json", "--job-dir", str(jobs)]  # fmt: skip


def interrupted_job(src: Path, out: Path, jobs: Path) -> str:
    """Start the job and kill its whole process group after chunk 2 (chunk 5 stalls, so the
    job cannot finish before the kill whatever the machine's speed)."""
    return kill_after_chunk([*filter_args(src, out, jobs), "--inject", "5:sleep=60"], 2)


@pytest.fixture
def reference(make_clip: ClipMaker, tmp_path: Path) -> tuple[Path, Path]:
    src = make_clip(seconds=CHUNKS, keyint=25)
    ref = tmp_path / "reference.mp4"
    result = runner.invoke(app, filter_args(src, ref, tmp_path / "ref-jobs"))
    assert result.exit_code == 0, result.output
    return src, ref


def events_of(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def check_resumed(output: str, out: Path, ref: Path) -> None:
    events = events_of(output)
    finished = [e for e in events if e["kind"] == "task_finished"]
    reused = sorted(int(str(e["chunk"])) for e in finished if e["resumed"])
    rerun = sorted(int(str(e["chunk"])) for e in finished if not e["resumed"])
    assert reused[:3] == [0, 1, 2]  # at least what finished before the kill...
    assert sorted(reused + rerun) == list(range(CHUNKS))  # ...and every chunk exactly once
    assert [e for e in events if e["kind"] == "task_started"] != []
    assert len([e for e in events if e["kind"] == "task_started"]) == len(rerun)
    assert facts(out).frame_hashes == facts(ref).frame_hashes
    assert facts(out).audio_duration == pytest.approx(facts(ref).audio_duration, abs=0.01)


def test_resume_after_kill_9(reference: tuple[Path, Path], tmp_path: Path) -> None:
    src, ref = reference
    jobs, out = tmp_path / "jobs", tmp_path / "out.mp4"
    job_id = interrupted_job(src, out, jobs)
    assert not out.exists()

    listing = runner.invoke(app, ["jobs", "--job-dir", str(jobs)], env={"COLUMNS": "200"})
    assert job_id in listing.output and "interrupted" in listing.output

    result = runner.invoke(app, ["resume", job_id, "--job-dir", str(jobs), "--json"])
    assert result.exit_code == 0, result.output
    check_resumed(result.output, out, ref)

    listing = runner.invoke(app, ["jobs", "--job-dir", str(jobs)], env={"COLUMNS": "200"})
    assert "finished" in listing.output
    again = runner.invoke(app, ["resume", job_id, "--job-dir", str(jobs)])
    assert again.exit_code == 2 and "already finished" in again.output


def test_rerun_with_resume_picks_up_the_interrupted_job(reference: tuple[Path, Path], tmp_path: Path) -> None:
    src, ref = reference
    jobs, out = tmp_path / "jobs", tmp_path / "out.mp4"
    job_id = interrupted_job(src, out, jobs)
    result = runner.invoke(app, [*filter_args(src, out, jobs), "--resume"])
    assert result.exit_code == 0, result.output
    assert events_of(result.output)[0]["job_id"] == job_id
    check_resumed(result.output, out, ref)


def test_clean_removes_intermediates_but_keeps_resumable_jobs(
    reference: tuple[Path, Path], tmp_path: Path
) -> None:
    src, _ = reference
    jobs = tmp_path / "jobs"
    job_id = interrupted_job(src, tmp_path / "out.mp4", jobs)
    result = runner.invoke(app, ["clean", "--all", "--job-dir", str(jobs)])
    assert result.exit_code == 0, result.output
    assert (jobs / job_id / "job.json").exists()  # interrupted: can still be resumed
