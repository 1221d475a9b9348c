"""A disk that fills while a job runs, on real file systems (tmpfs mounts; CI runs as root).

The job fails at once (a full disk is not retried), in one line naming a path on the full
file system; it leaves no half-written file; `sprocket jobs` shows it "failed"; it resumes to
the same frames once there is room; and `sprocket clean --all` gives its space back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.jobs.journal import RESERVE
from sprocket_cli.jobs.leftovers import temporaries
from sprocket_cli.jobs.records import status
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()
NO_SPACE = "No space left on device"
PAGE = os.sysconf("SC_PAGESIZE")


def filter_args(src: Path, out: Path, jobs: Path) -> list[str]:
    return ["filter", str(src), "--vf", "hue=s=0", "-o", str(out), "-w", "2", "--chunk-seconds", "1",
            "--json", "--job-dir", str(jobs)]  # fmt: skip


@pytest.fixture
def source(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=8, keyint=25)


def pages(paths: list[Path]) -> int:
    """Bytes the files take on a tmpfs: whole pages."""
    return sum(-(-p.stat().st_size // PAGE) * PAGE for p in paths)


@pytest.fixture
def reference(source: Path, tmp_path: Path) -> tuple[Path, int]:
    """An uninterrupted run's output, and a disk size in KiB that fits its job folder but half
    its video segments: the first chunks are stored, a later one finds the disk full."""
    out, jobs = tmp_path / "reference.mp4", tmp_path / "ref-jobs"
    result = runner.invoke(app, filter_args(source, out, jobs))
    assert result.exit_code == 0, result.output
    files = [p for p in jobs.rglob("*") if p.is_file()]
    video = [p for p in files if p.parent.name == "stream" and p.name.startswith("seg_")]
    assert len(video) == 8
    return out, (pages(files) + RESERVE - pages(video) // 2) // 1024


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def used_bytes(mount: Path) -> int:
    st = os.statvfs(mount)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def test_job_folder_fills_mid_job(
    source: Path, reference: tuple[Path, int], tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    ref, size = reference
    disk = tmpfs(f"size={size}k")
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, filter_args(source, out, disk))
    assert result.exit_code == 9, result.output
    assert "Traceback" not in result.output
    (line,) = error_lines(result.output)
    (job_dir,) = disk.iterdir()
    named = re.search(rf"(/\S+): {NO_SPACE}$", line)
    assert named is not None, line
    assert Path(named.group(1)).is_relative_to(job_dir), line  # the file system that is full

    events = [json.loads(e) for e in (job_dir / "journal.jsonl").read_text().splitlines()]
    finished = [e for e in events if e["kind"] == "task_finished"]
    assert finished, "the disk filled before any chunk: make it larger to test a job mid-way"
    failures = [e for e in events if e["kind"] == "task_failed"]
    assert all(not e["will_retry"] for e in failures)  # the disk would be as full next time
    assert events[-1]["kind"] == "job_failed" and NO_SPACE in str(events[-1]["error"])
    assert status(job_dir).state == "failed"
    listed = runner.invoke(app, ["jobs", "--job-dir", str(disk)])
    assert "failed" in listed.output and "interrupted" not in listed.output

    # Nothing half-written keeps the disk full, and nothing was put at -o.
    assert temporaries(job_dir) == []
    assert not list(job_dir.rglob("*.part"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".out", "out"))) == []

    # Room again: the same job resumes, redoes only what it had not finished, and gives the
    # frames of the uninterrupted run.
    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
    resumed = runner.invoke(app, ["resume", job_dir.name, "--job-dir", str(disk), "--json"])
    assert resumed.exit_code == 0, resumed.output
    again = [json.loads(e) for e in resumed.output.splitlines() if e.startswith("{")]
    reused = {e["chunk"] for e in again if e["kind"] == "task_finished" and e["resumed"]}
    assert reused == {e["chunk"] for e in finished}
    assert facts(out).frame_hashes == facts(ref).frame_hashes


def test_clean_frees_a_job_that_failed_on_a_full_disk(
    source: Path, reference: tuple[Path, int], tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    _, size = reference
    disk = tmpfs(f"size={size}k")
    result = runner.invoke(app, filter_args(source, tmp_path / "out.mp4", disk))
    assert result.exit_code == 9, result.output
    (job_dir,) = disk.iterdir()
    held = used_bytes(disk)
    assert held > size * 1024 // 2  # the finished segments: what the user wants back

    cleaned = runner.invoke(app, ["clean", "--all", "--job-dir", str(disk)])
    assert cleaned.exit_code == 0, cleaned.output
    assert "cleaned 1 jobs" in cleaned.output
    freed = float(re.search(r"freed ([\d.]+) MB", cleaned.output).group(1))  # type: ignore[union-attr]
    assert freed > 0
    assert not job_dir.exists()
    assert used_bytes(disk) < held // 10  # the space is the file system's again


def test_output_on_a_full_disk_fails_the_job_and_names_the_output(
    clip: Path, tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    disk = tmpfs("size=96k")  # room for no output at all
    out = disk / "out.mp4"
    jobs = tmp_path / "jobs"
    result = runner.invoke(
        app, ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--job-dir", str(jobs)]
    )
    assert result.exit_code == 9, result.output
    assert error_lines(result.output) == [f"error: {out}: {NO_SPACE}"]
    assert list(disk.iterdir()) == []  # no partial output, no temporary, no lock
    (job_dir,) = jobs.iterdir()
    assert status(job_dir).state == "failed"
    assert temporaries(job_dir) == []  # nor the joined segments the output is made from
