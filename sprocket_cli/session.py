"""The core's front door: ``start(JobRequest) -> JobHandle``.

The CLI, the TUI, the tests and a Python user all start jobs here, with no CLI import::

    handle = start(JobRequest(spec, {"input_0": "in.mp4"}, {"output_0": Path("out.mp4")}))
    for event in handle.events():
        ...
    outputs = handle.result()

:func:`start` opens the request's backend, checks and plans the job, and creates its folder;
the work runs as :meth:`JobHandle.events` is read (or :meth:`JobHandle.result` reads it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sprocket_cli.backends import Backend, open_backend
from sprocket_cli.errors import OptionError, UsageError
from sprocket_cli.events import Event
from sprocket_cli.executors.base import Executor
from sprocket_cli.inputs import InputSigner, readable
from sprocket_cli.jobs.control import request_cancel
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.jobs.records import read_record
from sprocket_cli.media.probe import MediaInfo, probe
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.storage import Storage

if TYPE_CHECKING:
    # Imported where used (the coordinator and its planning): :func:`start` imports them
    # while the first-frame check runs, not before the probe.
    from sprocket_cli.run import Job


@dataclass(frozen=True)
class JobRequest:
    """Everything a job needs to start: what to run, on what, into what, and how."""

    spec: Pipespec
    inputs: Mapping[str, str]
    """Input endpoint -> a path or URL ffmpeg can read."""
    outputs: Mapping[str, Path]
    """Output endpoint -> the file to write."""
    options: JobOptions = field(default_factory=JobOptions)


class JobHandle:
    """A started job: read its events to run it, cancel it, or wait for its outputs."""

    def __init__(self, job: Job, executor: Executor, storage: Storage, backend: Backend) -> None:
        self.job = job
        self.storage = storage
        """Where the job's items and stream live."""
        self.remote = backend.REMOTE
        """Whether the stream is elsewhere than the job folder (served by proxy)."""
        self._executor = executor
        self._events: Iterator[Event] | None = None

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def job_dir(self) -> Path:
        return self.job.job_dir

    def events(self) -> Iterator[Event]:
        """The job's events as it runs, once; the workers are released when it ends, however
        it ends (an error is raised after its ``JobFailed`` or ``JobCancelled`` event)."""
        if self._events is not None:
            raise RuntimeError(f"{self.job_id}: the events of a job can be read only once")
        self._events = self._run()
        return self._events

    def _run(self) -> Iterator[Event]:
        from sprocket_cli.launch.execute import execute

        with self._executor:
            yield from execute(self.job, self._executor, self.storage)

    def cancel(self) -> None:
        """Ask the job to stop, from any thread or process: running tasks stop too, and the
        events end with ``JobCancelled``."""
        request_cancel(self.job_dir)

    def result(self) -> dict[str, Path | None]:
        """Run the job to its end if nobody reads its events; its outputs (or its error)."""
        for _ in self._events if self._events is not None else self.events():
            pass
        return dict(self.job.outputs)

    def close(self) -> None:
        """Release the workers of a job whose events were never read."""
        if self._events is None:
            self._executor.close()


def output_check(request: JobRequest) -> Callable[[], None] | None:
    """A first-frame test of each encoded output's encoder in its container (``--codec prores``
    with ``-o x.webm`` fails here, before any work, naming both; a ladder's folder holds fMP4
    segments); None when nothing encodes. A ladder into a file is refused at once."""
    from sprocket_cli.media.codecs import resolve
    from sprocket_cli.media.containers import MP4, container_for
    from sprocket_cli.media.filtercheck import check_filter
    from sprocket_cli.output.folder import check_ladder_output
    from sprocket_cli.stages.encode import output_encodes

    pairs = [
        (config, Path(request.outputs[name]))
        for name, config in output_encodes(request.spec).items()
        if name in request.outputs
    ]
    for config, dest in pairs:
        if config.ladder:
            check_ladder_output(dest)
    named = next(iter(request.inputs.values()), None)
    source = None if named is None else readable(named)
    if source is None or not pairs:
        return None

    def check() -> None:
        for config, dest in pairs:
            segments = resolve(config.codec).segment_format
            container = MP4 if config.ladder else container_for(dest)
            check_filter(source, "null", config.options(), segments, container)

    return check


def start(
    request: JobRequest,
    *,
    check: Callable[[], None] | None = None,
    probed: Mapping[str, MediaInfo] | None = None,
) -> JobHandle:
    """Open the backend, probe the inputs, check and plan the job, and create its folder.

    ``check`` (a first-frame test of the user's filter, say; by default :func:`output_check`)
    runs beside the probe while the workers start, so the time before the first task is the
    slowest of them, not their sum.
    Raises the problem, before any work, when something cannot work.
    """
    options = request.options
    backend = open_backend(options.backend, dict(options.backend_options))
    if not backend.FOR_USERS:
        raise OptionError("backend", f"{backend.NAME} does no real work; use `sprocket plan` for estimates")
    refused = sorted({said for node in request.spec.nodes if (said := backend.refusal(node.stage))})
    if refused:
        raise UsageError("; ".join(refused))
    executor = backend.executor(options.workers)
    try:
        # The executor may run fewer workers than asked (cores, memory, an account's limit).
        options = replace(options, workers=executor.workers)
        check = check or output_check(request)
        # What ffmpeg reads here (an s3:// object through a URL presigned now); the record and
        # the tasks keep what the user named.
        sources = {name: readable(src) for name, src in request.inputs.items()}
        executor.check_sources(list(sources.values()))  # before the job exists
        began = time.monotonic()
        with ThreadPoolExecutor(1) as side:
            checked = side.submit(check) if check is not None else None
            media = {name: (probed or {}).get(name) or probe(src) for name, src in sources.items()}
            # The job's planning and coordinator, imported while the check's ffmpeg runs.
            from sprocket_cli.launch.prepare import prepare_job

            if checked is not None:
                checked.result()
        looked = time.monotonic()
        job = prepare_job(
            request.spec, sources, request.outputs, options, media, backend.storage, named=request.inputs
        )
        job = replace(
            job,
            notices=(*backend.notices, *job.notices),
            # For the job's breakdown: the check ran beside the probe, so it is in the first.
            probe_seconds=looked - began,
            plan_seconds=time.monotonic() - looked,
        )
        return JobHandle(
            _named_sources(job, executor), executor, backend.storage(job.job_dir, job.job_id), backend
        )
    except BaseException:
        executor.close()
        raise


def resume(job_dir: Path, options: JobOptions | None = None) -> JobHandle:
    """Pick up the interrupted or cancelled job in ``job_dir`` on the backend it ran on,
    without redoing the tasks it had finished."""
    from sprocket_cli.launch.prepare import resume_job

    record = read_record(job_dir)
    backend = open_backend(record.backend, dict(record.backend_options))
    storage = backend.storage(job_dir, record.job_id)
    executor = backend.executor(int(record.options.get("workers", 1)))
    try:
        began = time.monotonic()
        job = resume_job(job_dir, options, storage=storage)
        executor.check_sources([info.source for info in job.inputs.values()])
        # Its probe is in there too; the backend's notices (a ray job's lost results) go first.
        job = replace(job, notices=(*backend.notices, *job.notices), plan_seconds=time.monotonic() - began)
        return JobHandle(_named_sources(job, executor), executor, storage, backend)
    except BaseException:
        executor.close()
        raise


def _named_sources(job: Job, executor: Executor) -> Job:
    """``job`` with its tasks reading each ``s3://`` input by name, and ``executor`` signing a
    URL for each task as it dispatches it, valid about as long as the task may run: a task
    dispatched hours into a job, or in a resume, reads with a fresh URL, and no long-lived
    one is ever handed to a worker. (The probe and the output's audio sign short-lived URLs
    of their own as they read: :func:`~sprocket_cli.inputs.readable`.)"""
    executor.sign_inputs(InputSigner(), job.task_timeout)
    named = {k: v for k, v in job.named_inputs.items() if v.startswith("s3://")}
    if not named:
        return job
    return replace(
        job,
        inputs={k: replace(info, source=named[k]) if k in named else info for k, info in job.inputs.items()},
    )


def recorded_storage(job_dir: Path) -> Storage | None:
    """Where a recorded job's items and stream are when not in its folder (a Lambda job's S3)."""
    record = read_record(job_dir)
    return open_backend(record.backend, dict(record.backend_options)).recorded_storage(job_dir, record.job_id)
