"""The journal tells a job's failure even when the disk is full: it keeps room allocated
ahead of its end. On a real full file system (a tmpfs mount; CI runs as root)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from sprocket_cli.events import JobFailed
from sprocket_cli.jobs.journal import RESERVE, Journal, read_journal


def fill(disk: Path) -> None:
    """Write a file on ``disk`` until the file system says it is full."""
    with (disk / "filler").open("wb", buffering=0) as f, pytest.raises(OSError) as full:
        while True:
            f.write(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC


def failed(n: int) -> JobFailed:
    return JobFailed(t=float(n), job_id="job", error=f"chunk {n} failed: /somewhere: No space left on device")


def test_the_failure_is_journaled_on_a_full_disk(tmpfs: Callable[[str], Path]) -> None:
    disk = tmpfs("size=256k")
    with Journal(disk) as journal:
        journal.append(failed(0))  # the job's first lines, written while there was room
        fill(disk)
        # Nothing else can be written now...
        with pytest.raises(OSError) as refused:
            (disk / "other").write_bytes(b"x" * 100)
        assert refused.value.errno == errno.ENOSPC
        # ...but the journal's next lines, a task's and the job's failure, go in whole.
        lines = [failed(n) for n in range(1, RESERVE // 2 // len(failed(0).to_json()))]
        assert len(lines) > 2
        for event in lines:
            journal.append(event)
    assert list(read_journal(disk)) == [failed(0), *lines]


def test_a_line_that_does_not_fit_is_not_torn(tmpfs: Callable[[str], Path]) -> None:
    """Past its reserve, an append fails whole: no half line that would hide the next one."""
    disk = tmpfs("size=256k")
    with Journal(disk) as journal:
        fill(disk)
        big = JobFailed(t=1.0, job_id="job", error="x" * (4 * RESERVE))
        with pytest.raises(OSError):
            journal.append(big)
        (disk / "filler").unlink()  # room again: the next line is whole and readable
        journal.append(failed(1))
    assert list(read_journal(disk)) == [failed(1)]
    assert (disk / "journal.jsonl").read_text().count("\n") == 1
