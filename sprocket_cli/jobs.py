"""Job folders: where a job's record, journal, intermediates and stream live, and their state.

``job.json`` records everything needed to run the job again (the resolved pipespec, the
bound inputs and outputs, the options, and a fingerprint of each input), so ``resume``
rebuilds the same job; the journal says how far it got.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sprocket_cli.errors import UsageError
from sprocket_cli.events import Event, JobCancelled, JobFailed, JobFinished, JobStarted, TaskFinished
from sprocket_cli.journal import JOURNAL_NAME, read_journal

JOB_FILE = "job.json"


def jobs_root() -> Path:
    """``<user data dir>/sprocket/jobs``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("sprocket", appauthor=False)) / "jobs"


def new_job_id() -> str:
    """Sortable by start time, unique enough for one user: ``20261122-031500-3f9a``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def fingerprint(path: str) -> list[int] | None:
    """(size, mtime) of a local input, to notice it changed before a resume; None for URLs."""
    if "://" in path:
        return None
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


@dataclass(frozen=True)
class JobRecord:
    """The contents of ``job.json``."""

    job_id: str
    spec: dict[str, Any]
    """The resolved pipespec (see :func:`sprocket_cli.pipespec.to_dict`)."""
    inputs: dict[str, str]
    outputs: dict[str, str]
    options: dict[str, Any]
    """JobOptions fields that shape the result (workers, chunk_seconds, policy, ...)."""
    fingerprints: dict[str, list[int] | None]
    pid: int
    """The coordinator process that ran it last."""

    def same_work(self, other: JobRecord) -> bool:
        """Whether ``other`` asks for the same output from the same inputs, on the same backend
        (a job's finished outputs are in its backend's storage)."""
        return (self.spec, self.inputs, self.outputs, self.fingerprints, self.backend) == (
            other.spec,
            other.inputs,
            other.outputs,
            other.fingerprints,
            other.backend,
        )

    @property
    def backend(self) -> str:
        return str(self.options.get("backend", "local"))


def write_record(job_dir: Path, record: JobRecord) -> None:
    tmp = job_dir / (JOB_FILE + ".part")
    tmp.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
    os.replace(tmp, job_dir / JOB_FILE)


def read_record(job_dir: Path) -> JobRecord:
    try:
        raw = json.loads((job_dir / JOB_FILE).read_text(encoding="utf-8"))
        return JobRecord(**raw)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise UsageError(f"{job_dir}: not a job folder Sprocket can read ({exc})") from None


def create_job_dir(record: JobRecord, parent: Path | None) -> Path:
    """Make the job's folder under ``parent`` (default: the user data dir) and record it."""
    job_dir = ((parent or jobs_root()) / record.job_id).absolute()  # events name it from anywhere
    job_dir.mkdir(parents=True, exist_ok=False)
    write_record(job_dir, record)
    return job_dir


def find_job(text: str, parent: Path | None) -> Path:
    """A job folder from a job id, a unique id prefix, or a path."""
    if Path(text).is_dir() and (Path(text) / JOB_FILE).is_file():
        return Path(text)
    root = parent or jobs_root()
    matches = sorted(p for p in root.glob(f"{text}*") if (p / JOB_FILE).is_file()) if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"{text}: no such job (see `sprocket jobs`)")
    raise UsageError(f"{text}: several jobs match: {', '.join(p.name for p in matches)}")


@dataclass(frozen=True)
class JobStatus:
    job_dir: Path
    record: JobRecord
    state: str
    """finished, failed, cancelled, running or interrupted."""
    tasks_done: int
    tasks_total: int


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def coordinator_alive(job_dir: Path) -> bool:
    """Whether the process that runs (or ran) the job is alive and is not this process."""
    pid = read_record(job_dir).pid
    return _alive(pid) and pid != os.getpid()


def status(job_dir: Path) -> JobStatus:
    record = read_record(job_dir)
    events: list[Event] = list(read_journal(job_dir)) if (job_dir / JOURNAL_NAME).exists() else []
    done = {e.task_id for e in events if isinstance(e, TaskFinished)}
    total = max((e.tasks for e in events if isinstance(e, JobStarted)), default=0)
    last = events[-1] if events else None
    if isinstance(last, JobFinished):
        state = "finished"
    elif isinstance(last, JobFailed):
        state = "failed"
    elif isinstance(last, JobCancelled):
        state = "cancelled"
    elif coordinator_alive(job_dir):
        state = "running"
    else:
        state = "interrupted"
    return JobStatus(job_dir, record, state, len(done), total)


def all_jobs(parent: Path | None) -> Iterator[JobStatus]:
    """Every job under ``parent`` (default: the user data dir), newest first."""
    root = parent or jobs_root()
    if not root.is_dir():
        return
    for job_dir in sorted(root.iterdir(), reverse=True):
        if (job_dir / JOB_FILE).is_file():
            yield status(job_dir)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def clean(job: JobStatus, *, everything: bool) -> int:
    """Remove a stopped job's intermediates (or, with ``everything``, its folder); bytes freed."""
    target = job.job_dir if everything else job.job_dir / "work"
    freed = folder_bytes(target)
    shutil.rmtree(target, ignore_errors=True)
    return freed
