"""A job, validated before it runs: everything the coordinator needs and nothing it must look up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.chunking import ChunkPlan
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.plan.fusion import PhysicalPlan
from sprocket_cli.tasks import Fault, Result


@dataclass(frozen=True)
class Job:
    """Everything a run needs, validated before it starts."""

    job_id: str
    job_dir: Path
    plan: PhysicalPlan
    inputs: dict[str, MediaInfo]
    """input_N -> the probed source."""
    chunks: dict[str, ChunkPlan]
    """input_N -> how it is cut."""
    outputs: Mapping[str, Path | None]
    """output_N -> the final MP4 to write (None: stream only, no final file)."""
    retries: int = 3
    keep_intermediate: bool = False
    workers: int = 1
    policy: str = "overall"
    deadline_start: float | None = None
    """Seconds after the first segment that playback starts; None: no playback deadline."""
    faults: tuple[Fault, ...] = ()
    """Injected trouble, by chunk (tests and benchmarks)."""
    stragglers: str = "none"
    """Straggler mitigation: none, clone, speculative or gop-pair."""
    speculate_after: float = 2.0
    task_timeout: float | None = None
    """Seconds after which a task with no result counts as failed and is retried."""
    completed: Mapping[str, Result] = field(default_factory=dict)
    """Task id -> result kept from an earlier run of this job (``resume``)."""
    audio: AudioPlan | None = None
    """The output's audio; None: the first input's, as it is."""
    notices: tuple[str, ...] = ()
    """Lines for the user before work starts (a chain that runs on one worker, and why)."""
    named_inputs: Mapping[str, str] = field(default_factory=dict)
    """Input -> what the user named (an ``s3://`` object rather than the URL presigned for this
    run, which is never shown or written); by default the source read."""
    staged_inputs: frozenset[str] = frozenset()
    """Inputs the workers cannot read where they are (local files, remote workers): cut and
    uploaded to storage first, each chunk's tasks starting once its upload is done."""
    probe_seconds: float = 0.0
    """Seconds the caller spent probing the inputs before the job was made (0: not measured);
    the job's breakdown reports it."""
    plan_seconds: float = 0.0
    """Seconds the caller spent checking and planning the job (0: not measured)."""
