"""How a job that failed says so: which errors are the job's failure (not an interruption),
what the one line says, and whether the disk is full so the job's temporaries must go first."""

from __future__ import annotations

import contextlib
import errno
from dataclasses import dataclass
from pathlib import Path

from sprocket_cli.errors import DiskFullError, JobFailedError
from sprocket_cli.events import JobFailed
from sprocket_cli.run.context import RunContext

#: The errors that fail a job; anything else (a cancel, Ctrl-C, a bug) passes through as it is.
FAILURES = (JobFailedError, DiskFullError, OSError)


@dataclass(frozen=True)
class Failure:
    message: str
    full_disk: bool
    raise_instead: DiskFullError | None = None
    """What to raise in place of the error caught (None: the error itself)."""


def failure_of(exc: BaseException, job_dir: Path) -> Failure:
    """The failure ``exc`` (one of :data:`FAILURES`) means for the job."""
    if not isinstance(exc, OSError):
        # A task's full disk comes as the cause of the job's failure; the assembly's as is.
        full = isinstance(exc, DiskFullError) or isinstance(exc.__cause__, DiskFullError)
        return Failure(str(exc), full)
    # The file system refused (full, read-only, gone): the job failed, it was not interrupted.
    # A full disk is named (a failed write names no file).
    where = exc.filename or job_dir
    if exc.errno != errno.ENOSPC:
        return Failure(f"{where}: {exc.strerror or exc}", False)
    full_disk = DiskFullError(f"{where}: No space left on device")
    return Failure(str(full_disk), True, full_disk)


def job_failed(run: RunContext, message: str) -> JobFailed:
    """The job failed: the event, in the journal too if it can still be written (the disk that
    is full may be the job folder's, and then the user still sees the event)."""
    event = JobFailed(t=run.now(), job_id=run.job.job_id, error=message)
    with contextlib.suppress(OSError):
        run.emit(event)
    return event
