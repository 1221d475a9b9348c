"""From what the user asked to a validated :class:`~sprocket_cli.coordinator.Job`, and running it.

Everything that can be checked before work starts is checked here: inputs probe as video,
outputs can be written and do not clobber anything, the pipespec's endpoints are bound.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sprocket_cli.coordinator import Job, run_job
from sprocket_cli.errors import OutputError, UsageError
from sprocket_cli.events import Event
from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.jobs import create_job_dir, new_job_id
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import MediaInfo, probe
from sprocket_cli.pipespec import Pipespec
from sprocket_cli.planner import plan
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Fault

DEFAULT_CHUNK_SECONDS = 2.0


@dataclass(frozen=True)
class JobOptions:
    workers: int = os.cpu_count() or 1
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    """Target chunk length, seconds; cuts stay on keyframes where they can."""
    retries: int = 3
    keep_intermediate: bool = False
    overwrite: bool = False
    job_parent: Path | None = None
    """Folder to create the job folder in (default: the user data dir)."""
    policy: str = "overall"
    """Scheduling policy: overall, first-frame or streaming."""
    deadline_start: float | None = None
    """Seconds after the first segment that playback starts (the streaming deadline)."""
    faults: tuple[Fault, ...] = ()
    """Injected trouble (hidden ``--inject``), for tests and benchmarks."""


def check_output(dest: Path, sources: list[str], *, overwrite: bool) -> Path:
    """``dest`` made absolute, or :class:`OutputError` if writing it would lose something."""
    dest = dest.expanduser().absolute()
    if dest.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise OutputError(f"{dest}: the output must be an .mp4, .m4v or .mov file")
    for src in sources:
        if "://" not in src and Path(src).exists() and dest.exists() and dest.samefile(src):
            raise OutputError(f"{dest}: the output is the input; choose another -o")
    if not dest.parent.is_dir():
        raise OutputError(f"{dest.parent}: the output folder does not exist")
    if not os.access(dest.parent, os.W_OK):
        raise OutputError(f"{dest.parent}: the output folder is not writable")
    if dest.exists() and not overwrite:
        raise OutputError(f"{dest}: already exists; pass --overwrite to replace it")
    return dest


def prepare_job(
    spec: Pipespec,
    inputs: Mapping[str, str],
    outputs: Mapping[str, Path],
    options: JobOptions,
    probed: Mapping[str, MediaInfo] | None = None,
) -> Job:
    """Bind ``spec``'s endpoints, probe and cut the inputs, and create the job folder."""
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {options.workers}")
    _check_bindings("input", spec.inputs, inputs)
    _check_bindings("output", spec.outputs, outputs)
    media = {name: (probed or {}).get(name) or probe(src) for name, src in inputs.items()}
    dests = {
        name: check_output(Path(p), list(inputs.values()), overwrite=options.overwrite)
        for name, p in outputs.items()
    }
    chunks = {name: plan_chunks(info, options.chunk_seconds) for name, info in media.items()}
    job_id = new_job_id()
    job_dir = create_job_dir(
        job_id,
        options.job_parent,
        {
            "pipeline": spec.name,
            "inputs": dict(inputs),
            "outputs": {k: str(v) for k, v in dests.items()},
            "workers": options.workers,
            "chunk_seconds": options.chunk_seconds,
        },
    )
    return Job(
        job_id=job_id,
        job_dir=job_dir,
        plan=plan(spec),
        inputs=media,
        chunks=chunks,
        outputs=dests,
        retries=options.retries,
        keep_intermediate=options.keep_intermediate,
        workers=options.workers,
        policy=options.policy,
        deadline_start=options.deadline_start,
        faults=options.faults,
    )


def _check_bindings(kind: str, wanted: tuple[str, ...], given: Mapping[str, object]) -> None:
    missing = [w for w in wanted if w not in given]
    extra = [g for g in given if g not in wanted]
    if missing:
        raise UsageError(f"the pipeline needs {kind} {', '.join(missing)}; bind with --{kind} NAME=...")
    if extra:
        raise UsageError(f"the pipeline has no {kind} {', '.join(extra)} (it has: {', '.join(wanted)})")


def execute(job: Job, executor: Executor | None = None) -> Iterator[Event]:
    """Run ``job`` with the job folder as storage, on ``executor`` or new local workers."""
    storage = LocalStorage(job.job_dir)
    if executor is not None:
        yield from run_job(job, executor, storage)
        return
    with LocalExecutor(job.workers) as local:
        yield from run_job(job, local, storage)
