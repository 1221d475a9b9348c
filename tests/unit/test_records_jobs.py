"""Job records and output locks without running a job: what is recorded, file modes, who may
take a lock over, and what the final rename may replace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_cli.errors import OutputError
from sprocket_cli.events import JobFailed
from sprocket_cli.jobs.journal import Journal
from sprocket_cli.jobs.records import (
    JobRecord,
    create_job_dir,
    file_identity,
    lock_outputs,
    lock_path,
    read_record,
    recorded_input,
    unlock_outputs,
    write_record,
)
from sprocket_cli.output.assemble import publish, stale_parts


@pytest.fixture
def dest(tmp_path: Path) -> Iterator[Path]:
    """An output path; whatever a test locks on it is dropped afterwards."""
    path = tmp_path / "out.mp4"
    yield path
    unlock_outputs([path])


def record(job_id: str = "20260101-000000-aaaa") -> JobRecord:
    return JobRecord(job_id, {}, {"input_0": "/in.mp4"}, {}, {}, {"input_0": None}, os.getpid())


def finished_part(folder: Path, text: str) -> str:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".out.mp4.", suffix=".part")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return tmp


def test_local_inputs_are_recorded_absolute(tmp_path: Path) -> None:
    assert recorded_input("clip.mp4") == str(tmp_path / "clip.mp4")  # the tests run in tmp_path
    assert recorded_input("../x/clip.mp4") == str(tmp_path / ".." / "x" / "clip.mp4")
    for url in ("https://example.com/a.mp4", "s3://bucket/key.mp4"):
        assert recorded_input(url) == url


def test_job_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    umask = os.umask(0)  # a umask that would leave new files world-readable and -writable
    try:
        job_dir = create_job_dir(record(), tmp_path)
        (job_dir / "job.json").chmod(0o644)  # as an older version wrote it
        write_record(job_dir, record())
    finally:
        os.umask(umask)
    for name in ("job.json", "journal.jsonl"):
        assert (job_dir / name).stat().st_mode & 0o777 == 0o600, name


def test_a_live_jobs_lock_is_refused_and_the_same_jobs_taken_over(tmp_path: Path, dest: Path) -> None:
    lock_outputs([dest], "job-a", tmp_path / "a", overwrite=False)
    fields = json.loads(lock_path(dest).read_text())
    assert (fields["job_id"], fields["pid"]) == ("job-a", os.getpid())
    with pytest.raises(OutputError, match=f"{dest}: job job-a .*is writing it"):
        lock_outputs([dest], "job-b", tmp_path / "b", overwrite=True)
    lock_outputs([dest], "job-a", tmp_path / "a", overwrite=False)  # a resume of job-a


@pytest.mark.parametrize("content", ["", "{not json", '{"job_id": "job-a", "pid": 0}'])
def test_a_garbled_lock_is_stale(tmp_path: Path, dest: Path, content: str) -> None:
    lock_path(dest).write_text(content)
    lock_outputs([dest], "job-b", tmp_path / "b", overwrite=False)
    assert json.loads(lock_path(dest).read_text())["job_id"] == "job-b"


def test_lock_of_a_dead_process_is_taken_over(tmp_path: Path, dest: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: its pid is no one's
    lock_path(dest).write_text(json.dumps({"job_id": "job-a", "pid": proc.pid}))
    lock_outputs([dest], "job-b", tmp_path / "b", overwrite=False)
    assert json.loads(lock_path(dest).read_text())["job_id"] == "job-b"


def test_lock_of_a_job_that_ended_in_a_live_process_is_taken_over(tmp_path: Path, dest: Path) -> None:
    job_dir = create_job_dir(record("job-a"), tmp_path)
    lock_outputs([dest], "job-a", job_dir, overwrite=False)
    with Journal(job_dir) as journal:  # job-a failed; this process lives on
        journal.append(JobFailed(t=1.0, job_id="job-a", error="chunk 0 failed"))
    lock_outputs([dest], "job-b", tmp_path / "b", overwrite=False)
    assert json.loads(lock_path(dest).read_text())["job_id"] == "job-b"


def test_locks_are_taken_all_or_none(tmp_path: Path, dest: Path) -> None:
    other = tmp_path / "other.mp4"
    lock_path(other).write_text(json.dumps({"job_id": "job-a", "pid": os.getpid()}))
    with pytest.raises(OutputError, match="job-a"):
        lock_outputs([dest, other], "job-b", tmp_path / "b", overwrite=False)
    assert not lock_path(dest).exists()


def test_rename_keeps_a_file_that_appeared_since_the_job_started(tmp_path: Path, dest: Path) -> None:
    job_dir = create_job_dir(record(), tmp_path)
    lock_outputs([dest], "20260101-000000-aaaa", job_dir, overwrite=False)
    dest.write_text("the user's")
    tmp = finished_part(tmp_path, "the job's")
    with pytest.raises(OutputError, match="someone else wrote this file after job 20260101-000000-aaaa"):
        publish(tmp, dest)
    assert dest.read_text() == "the user's"


def test_rename_records_the_file_the_job_wrote(tmp_path: Path, dest: Path) -> None:
    job_dir = create_job_dir(record(), tmp_path)
    lock_outputs([dest], "20260101-000000-aaaa", job_dir, overwrite=False)
    tmp = finished_part(tmp_path, "the job's")
    publish(tmp, dest)
    Path(tmp).unlink(missing_ok=True)  # publish's caller's part: a link leaves the name behind
    assert dest.read_text() == "the job's"
    assert read_record(job_dir).owned == {str(dest): file_identity(dest)}

    # A resume (killed before the job ended) may replace that file, and only that one.
    unlock_outputs([dest])
    lock_outputs([dest], "20260101-000000-aaaa", job_dir, overwrite=False, owned=read_record(job_dir).owned)
    publish(finished_part(tmp_path, "the job's again"), dest)
    assert dest.read_text() == "the job's again"


def test_overwrite_replaces_whatever_is_there(tmp_path: Path, dest: Path) -> None:
    lock_outputs([dest], "job-a", tmp_path / "a", overwrite=True)
    dest.write_text("the user's")
    publish(finished_part(tmp_path, "the job's"), dest)
    assert dest.read_text() == "the job's"


def test_stale_parts_are_only_assemblys_own(tmp_path: Path, dest: Path) -> None:
    ours = Path(finished_part(tmp_path, ""))
    for name in (
        ".out.mp4.keep-me.part",
        ".out.mp4.abcdefgh.part.bak",
        ".other.mp4.abcdefgh.part",
        "out.mp4",
    ):
        (tmp_path / name).touch()
    assert stale_parts(dest) == [ours]
