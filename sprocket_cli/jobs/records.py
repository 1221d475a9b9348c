"""Job folders: where a job's record, journal, intermediates and stream live, and their state.

``job.json`` records everything needed to run the job again (the resolved pipespec, the
bound inputs and outputs, the options, and a fingerprint of each input), so ``resume``
rebuilds the same job; the journal says how far it got. Both are readable by their owner
only: they name the user's files, and an s3 input's presigned URL is a credential.

A job owns each output path while it runs: a lock file beside the output names the job and
its process (:func:`lock_outputs`), so that two jobs never write one path.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sprocket_cli.errors import OutputError, UsageError
from sprocket_cli.events import Event, JobCancelled, JobFailed, JobFinished, JobStarted, TaskFinished
from sprocket_cli.jobs.journal import JOURNAL_NAME, read_journal
from sprocket_cli.processes import pid_alive

JOB_FILE = "job.json"


def jobs_root() -> Path:
    """``<user data dir>/sprocket/jobs``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("sprocket", appauthor=False)) / "jobs"


def new_job_id() -> str:
    """Sortable by start time, unique enough for one user: ``20261122-031500-3f9a``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def recorded_input(path: str) -> str:
    """How an input is recorded: a local path made absolute, so that ``resume`` finds it from
    any folder; a URL (http, s3) as it is."""
    return path if "://" in path else str(Path(path).absolute())


def file_identity(path: Path | str) -> list[int] | None:
    """[device, inode, size, mtime] of the file at ``path``, None if there is none: tells the
    file a job wrote (a rename keeps all four) from one someone else put there since."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


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
    """The resolved pipespec (see :func:`sprocket_cli.pipeline.pipespec.to_dict`)."""
    inputs: dict[str, str]
    outputs: dict[str, str]
    options: dict[str, Any]
    """JobOptions fields that shape the result (workers, chunk_seconds, policy, ...)."""
    fingerprints: dict[str, list[int] | None]
    pid: int
    """The coordinator process that ran it last."""
    owned: dict[str, list[int]] = field(default_factory=dict)
    """Output path -> :func:`file_identity` of the file there that the job may replace: the one
    found at the start under --overwrite, then the one it wrote itself (a resume after a kill
    between the rename and the end replaces its own file, never one that appeared since)."""

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

    @property
    def backend_options(self) -> tuple[tuple[str, str], ...]:
        """The backend's own settings (JSON keeps the pairs as lists)."""
        return tuple((str(k), str(v)) for k, v in self.options.get("backend_options", ()))


def _write_private(path: Path, text: str, flags: int = os.O_TRUNC) -> None:
    """Write ``text`` to ``path`` with mode 0600 from its creation on (never readable by others,
    not even for a moment); fchmod also narrows a file left by an older version."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)
        f.write(text)


def private_journal(job_dir: Path) -> None:
    """Create the journal with mode 0600 (or narrow an older job's): the journal appends to it
    and so keeps its mode."""
    fd = os.open(job_dir / JOURNAL_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def write_record(job_dir: Path, record: JobRecord) -> None:
    tmp = job_dir / (JOB_FILE + ".part")
    _write_private(tmp, json.dumps(asdict(record), indent=2))
    os.replace(tmp, job_dir / JOB_FILE)


def read_record(job_dir: Path) -> JobRecord:
    try:
        raw = json.loads((job_dir / JOB_FILE).read_text(encoding="utf-8"))
        return JobRecord(**raw)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise UsageError(f"{job_dir}: not a job folder Sprocket can read ({exc})") from None


def job_folder(job_id: str, parent: Path | None) -> Path:
    """Where :func:`create_job_dir` puts the job (the output locks name it before it exists)."""
    return ((parent or jobs_root()) / job_id).absolute()  # events name it from anywhere


def create_job_dir(record: JobRecord, parent: Path | None) -> Path:
    """Make the job's folder under ``parent`` (default: the user data dir) and record it."""
    job_dir = job_folder(record.job_id, parent)
    job_dir.mkdir(parents=True, exist_ok=False)
    write_record(job_dir, record)
    private_journal(job_dir)
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


def coordinator_alive(job_dir: Path) -> bool:
    """Whether the process that runs (or ran) the job is alive and is not this process."""
    pid = read_record(job_dir).pid
    return pid_alive(pid) and pid != os.getpid()


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


# Output locks. A job takes one per output before its folder exists and drops it once the file
# is in place (:mod:`sprocket_cli.output.assemble`) or when its process exits.

LOCK_SUFFIX = ".sprocket-lock"


@dataclass(frozen=True)
class OutputLock:
    """This process's claim on one output path, for the job ``job_id``."""

    dest: Path
    job_id: str
    job_dir: Path
    pid: int
    overwrite: bool
    """--overwrite: the job may replace whatever is at ``dest`` when it finishes."""
    replaceable: list[int] | None = None
    """Without --overwrite, the :func:`file_identity` of the one file at ``dest`` the job may
    replace (see :attr:`JobRecord.owned`); any other file there is someone else's."""


#: dest -> the lock this process holds on it, so that the final rename knows the job's terms.
_HELD: dict[Path, OutputLock] = {}


def lock_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{LOCK_SUFFIX}")


@contextmanager
def _dir_guard(folder: Path) -> Iterator[None]:
    """Serialise lock changes in ``folder`` between processes: two processes must not both judge
    one lock stale, the second then removing the first's fresh lock. flock ends with its holder,
    so this guard cannot go stale itself."""
    fd = -1
    with suppress(OSError):  # no flock (some network file systems), or a folder we may not read:
        fd = os.open(folder, os.O_RDONLY)  # O_EXCL alone still keeps two live jobs apart
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fd >= 0:
            os.close(fd)


def _read_lock(path: Path) -> dict[str, Any] | None:
    """The lock file's fields, None if there is none; {} if it cannot be parsed (its writer died
    between creating and writing it)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except PermissionError:
        raise OutputError(f"{path}: another user's job holds this output; choose another -o") from None
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _journal_bytes(job_dir: Path) -> int:
    try:
        return (job_dir / JOURNAL_NAME).stat().st_size
    except OSError:
        return 0


def _holds(holder: dict[str, Any]) -> bool:
    """Whether the job that wrote the lock may still write its output: its process is alive and
    its journal has not ended since it took the lock (a process that runs jobs one after another
    keeps its pid when one fails)."""
    pid, job_dir, taken_at = holder.get("pid"), holder.get("job_dir"), holder.get("journal_bytes", 0)
    if not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):
        return False
    if not isinstance(job_dir, str) or _journal_bytes(Path(job_dir)) <= int(taken_at or 0):
        return True
    events: list[Event] = []
    with suppress(OSError):
        events = list(read_journal(Path(job_dir)))
    return not (events and isinstance(events[-1], (JobFinished, JobFailed, JobCancelled)))


def _lock_one(lock: OutputLock) -> None:
    path, taken_at = lock_path(lock.dest), _journal_bytes(lock.job_dir)
    body = {"job_id": lock.job_id, "pid": lock.pid, "job_dir": str(lock.job_dir), "journal_bytes": taken_at}
    with _dir_guard(lock.dest.parent):
        holder = _read_lock(path)
        if holder is not None:
            if holder.get("job_id") != lock.job_id and _holds(holder):
                raise OutputError(
                    f"{lock.dest}: job {holder.get('job_id')} (pid {holder.get('pid')}) is writing it; "
                    f"wait for it or choose another -o (if that job is gone, remove {path})"
                )
            path.unlink(missing_ok=True)  # stale, or this same job's from before a kill
        try:
            _write_private(path, json.dumps(body), os.O_EXCL)
        except FileExistsError:  # only where flock is not to be had: another job just took it
            raise OutputError(f"{lock.dest}: another job took it at this moment; choose another -o") from None
        except BaseException:
            path.unlink(missing_ok=True)  # created but not written (disk full): not a lock
            raise
    _HELD[lock.dest] = lock


def lock_outputs(
    dests: Iterable[Path],
    job_id: str,
    job_dir: Path,
    *,
    overwrite: bool,
    owned: dict[str, list[int]] | None = None,
) -> None:
    """Take the lock on every output path for ``job_id``, or none of them: :class:`OutputError`
    names the path and the live job that holds it. A lock whose process is dead, or whose job
    has ended, is taken over; so is one the same job left when it was killed (a resume)."""
    taken: list[Path] = []
    try:
        for dest in dests:
            replaceable = (owned or {}).get(str(dest))
            _lock_one(OutputLock(dest, job_id, job_dir, os.getpid(), overwrite, replaceable))
            taken.append(dest)
    except BaseException:
        unlock_outputs(taken)
        raise


def held_lock(dest: Path) -> OutputLock | None:
    """The lock this process holds on ``dest``, if a job of its holds it."""
    lock = _HELD.get(dest)
    return lock if lock is not None and lock.pid == os.getpid() else None


def check_still_held(lock: OutputLock) -> None:
    """:class:`OutputError` if another job has taken the lock over (it judged this job gone)."""
    holder = _read_lock(lock_path(lock.dest))
    if holder and holder.get("job_id") != lock.job_id:
        raise OutputError(
            f"{lock.dest}: job {holder.get('job_id')} (pid {holder.get('pid')}) took this output over "
            f"from job {lock.job_id}; not replaced"
        )


def note_written(lock: OutputLock, identity: list[int] | None) -> None:
    """Record in the job's record that the file with ``identity`` at the lock's path is the
    job's own, before it is renamed there (so that it is recorded whenever it is there)."""
    if identity is None or not (lock.job_dir / JOB_FILE).is_file():
        return
    record = read_record(lock.job_dir)
    write_record(lock.job_dir, replace(record, owned={**record.owned, str(lock.dest): identity}))


def unlock_outputs(dests: Iterable[Path]) -> None:
    """Drop this process's locks on ``dests``; a lock another job has taken over stays."""
    for dest in dests:
        lock = _HELD.pop(dest, None)
        if lock is None or lock.pid != os.getpid():
            continue
        path = lock_path(dest)
        with suppress(OSError, OutputError), _dir_guard(dest.parent):
            holder = _read_lock(path)
            if holder is not None and (holder.get("job_id"), holder.get("pid")) == (lock.job_id, lock.pid):
                path.unlink()


# At exit the process's jobs have ended, however they ended (failed, cancelled, Ctrl-C).
atexit.register(lambda: unlock_outputs(list(_HELD)))
