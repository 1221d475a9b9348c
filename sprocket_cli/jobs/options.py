"""The options of a job: one home for their names, types, defaults and checks, whoever
builds them (the CLI, the TUI, a test, a Python caller)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sprocket_cli.errors import OptionError

if TYPE_CHECKING:  # the tasks module is heavy for the CLI's --help, which reads this
    from sprocket_cli.tasks import Fault

#: Chunk lengths ramp from the first to the target: a short first chunk makes the first
#: segment playable soon, long later ones spend less on per-process start-up (measured with
#: bench/filter_vs_ffmpeg.py: 2 s chunks throughout cost ~2% of wall time more than 6 s).
DEFAULT_CHUNK_SECONDS = 6.0
DEFAULT_FIRST_CHUNK_SECONDS = 2.0


@dataclass(frozen=True)
class JobOptions:
    workers: int = os.cpu_count() or 1
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    """Target chunk length, seconds; cuts stay on keyframes where they can."""
    first_chunk_seconds: float | None = DEFAULT_FIRST_CHUNK_SECONDS
    """Length of the first chunk, seconds; later ones double up to ``chunk_seconds``."""
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
    resume: bool = False
    """Pick up an interrupted job that asked for the same work, instead of starting anew."""
    stragglers: str = "none"
    """Straggler mitigation: none, clone, speculative or gop-pair."""
    speculate_after: float = 2.0
    """``speculative``: backup after this many times the stage's median task time."""
    task_timeout: float | None = None
    """Seconds after which a task without a result is retried on another worker."""
    audio: str = "a"
    """The output's audio: the first input's (a), the second's (b), both mixed, or none."""
    audio_filters: str | None = None
    """An ffmpeg audio filter chain over the output's whole audio track (``--af``)."""
    backend: str = "local"
    """Where tasks run: ``local`` processes, or ``lambda``; remote workers get local files cut
    and uploaded for them."""
    backend_options: tuple[tuple[str, str], ...] = ()
    """The backend's own settings as (name, value) pairs (a cluster's address, say)."""
    stage_local_inputs: bool = False
    """Upload local files as chunks even for local workers (tests of staging)."""

    def __post_init__(self) -> None:
        # Checked once, here, whoever builds the options: the CLI, the TUI, a test, a script.
        if self.workers < 1:
            raise OptionError("workers", f"must be at least 1, not {self.workers}")
        if self.retries < 0:
            raise OptionError("retries", f"must be 0 or more, not {self.retries}")
        if not self.chunk_seconds > 0:
            raise OptionError("chunk_seconds", f"must be positive, not {self.chunk_seconds}")
        if self.first_chunk_seconds is not None and not self.first_chunk_seconds > 0:
            raise OptionError("first_chunk_seconds", f"must be positive, not {self.first_chunk_seconds}")
        if self.task_timeout is not None and not self.task_timeout > 0:
            raise OptionError("task_timeout", f"must be positive, not {self.task_timeout}")


#: JobOptions fields kept in the job's record, so that a resume runs the job as it began.
RECORDED_OPTIONS = (
    "workers",
    "chunk_seconds",
    "retries",
    "keep_intermediate",
    "overwrite",
    "policy",
    "deadline_start",
    "audio",
    "audio_filters",
    "backend",
    "backend_options",
)
