"""Typed, frozen events: what the coordinator tells the CLI, the TUI and the journal.

Every event has ``t``, seconds since the job started. The journal is these events as JSON
lines in the job folder; :func:`event_from_dict` reads them back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    KIND: ClassVar[str] = "event"
    t: float
    """Seconds since the job started."""

    def to_dict(self) -> dict[str, Any]:
        # Shallow: event fields are JSON values already, and asdict's deep copies cost more
        # than the coordinator's whole bookkeeping at 10,000 tasks.
        return {"kind": self.KIND, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Event:
        """The event of these fields (a journal line's, ``kind`` taken out)."""
        return cls(**fields)


@dataclass(frozen=True)
class JobStarted(Event):
    KIND: ClassVar[str] = "job_started"
    job_id: str
    job_dir: str
    """The job's folder: journal, stream, intermediates."""
    pipeline: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    chunks: int
    tasks: int
    """Tasks the job will run if none is retried, in the groups that run one per chunk."""
    workers: int
    executor: str
    duration: float
    """Seconds of input video."""
    frames: int
    """Input frames."""
    groups: list[str]
    """Fused node groups, in order (``decode+filter+encode``)."""
    preroll: float = 0.0
    """Seconds of video decoded only to reach non-keyframe cuts."""
    policy: str = "overall"
    """Scheduling policy (overall, first-frame, streaming)."""
    started_at: float = 0.0
    """Wall-clock time the job started (Unix seconds), so a late watcher knows the job's clock."""
    chunk_starts: list[float] = dataclasses.field(default_factory=list)
    """Where each chunk of the first input starts, seconds of video."""
    memory_mb: int | None = None
    """Memory of each worker where it sets the price (Lambda); None on local workers."""
    arch: str | None = None
    """The workers' architecture where it sets the price (Lambda); None on local workers."""
    span_groups: list[str] = dataclasses.field(default_factory=list)
    """Groups whose tasks cover other spans than chunks (one per scene): their ``chunk`` field
    is the span's number, and how many there will be is known only as they come."""
    notices: list[str] = dataclasses.field(default_factory=list)
    """What the user must know before work starts: a filter chain that runs on one worker
    because it cannot give plain ffmpeg's frames in chunks, and why."""
    serialized: list[str] = dataclasses.field(default_factory=list)
    """Groups whose frames go in playback order to one worker (a stage that keeps state)."""
    chunk_cost: dict[str, Any] | None = None
    """What the chunks cost the video encode in bytes against one whole-file encode (a
    :class:`~sprocket_cli.media.chunkcost.ChunkCost` as a dict); None: no per-chunk encode."""
    target_vmaf: float | None = None
    """The encode's per-chunk VMAF target (``--target-vmaf``); None: one crf for all chunks."""


@dataclass(frozen=True)
class TaskEvent(Event):
    """Something that happened to one task: which one, of which group, on which chunk."""

    task_id: str
    group: str
    chunk: int
    """The chunk's number (a span group's: the span's)."""


@dataclass(frozen=True)
class TaskQueued(TaskEvent):
    KIND: ClassVar[str] = "task_queued"
    attempt: int


@dataclass(frozen=True)
class TaskStarted(TaskEvent):
    KIND: ClassVar[str] = "task_started"
    attempt: int
    copy: int = 0
    """0 for a task's first copy; clones and backups count up."""
    slot: int = 0
    """Which of the job's worker slots (0 .. workers-1) the copy occupies until it returns."""


#: A task's phases on its worker, in order.
PHASES = ("reading", "computing", "writing", "throttled")
"""A copy's phases; ``throttled``: the backend refused it for now and it will be tried again."""


@dataclass(frozen=True)
class TaskProgress(TaskEvent):
    """A worker's report on a running copy: its phase, and frames done so far."""

    KIND: ClassVar[str] = "task_progress"
    copy: int
    slot: int
    worker: str
    phase: str
    """One of :data:`PHASES`."""
    frames: int


@dataclass(frozen=True)
class TaskFinished(TaskEvent):
    KIND: ClassVar[str] = "task_finished"
    attempt: int
    frames: int
    worker: str
    read: float
    """Seconds reading input."""
    compute: float
    """Seconds in ffmpeg."""
    write: float
    """Seconds writing output."""
    result: dict[str, Any] | None = None
    """The worker's whole result, so that ``resume`` can reuse it."""
    resumed: bool = False
    """True when the result came from an earlier run of the job (``resume``), not a worker."""
    copy: int = 0
    slot: int | None = None
    """The worker slot the copy held (None for a resumed result)."""
    node: str = ""
    """The machine that ran it (see :attr:`JobFinished.nodes`); empty in older journals."""


@dataclass(frozen=True)
class TaskFailed(TaskEvent):
    KIND: ClassVar[str] = "task_failed"
    attempt: int
    error: str
    will_retry: bool
    copy: int = 0
    slot: int | None = None
    timed_out: bool = False
    """No result within ``--task-timeout``: the copy may still be running on its worker."""


@dataclass(frozen=True)
class TaskSuperseded(TaskEvent):
    """A copy of a task (clone, backup, gop-pair partner) stopped: another copy delivered."""

    KIND: ClassVar[str] = "task_superseded"
    copy: int
    worker: str
    seconds: float
    """Worker seconds the copy spent (read + compute + write)."""
    slot: int | None = None


@dataclass(frozen=True)
class ChunkStaged(Event):
    """A chunk of a local source reached storage, where remote workers read it (Lambda)."""

    KIND: ClassVar[str] = "chunk_staged"
    input: str
    """The input endpoint (``input_0``)."""
    chunk: int
    bytes: int
    seconds: float
    """Upload time."""


@dataclass(frozen=True)
class SegmentReady(Event):
    KIND: ClassVar[str] = "segment_ready"
    output: str
    """The output endpoint (``output_0``)."""
    index: int
    start: float
    """Seconds."""
    duration: float
    """Seconds."""
    playable_until: float
    """End of the contiguous playable prefix, seconds of video."""
    deadline: float | None = None
    """Job-clock seconds by which this segment had to be playable, under a playback deadline."""


@dataclass(frozen=True)
class Breakdown:
    """Where a job's time went, and how busy it kept the cores.

    ``probe`` and ``plan`` come before the job's clock starts and ``assembly`` after its last
    task, in seconds. Between the start and the last task's return (``work`` seconds) each
    worker slot runs a copy of a task or holds none, so the slot fields (slot-seconds:
    ``worker_start`` to ``tail``) add up to ``slots * work``.
    """

    slots: int
    """Worker slots the job ran on."""
    cores: int
    """Cores the workers ran on, which ``utilisation`` is measured against."""
    probe: float = 0.0
    """Seconds probing the inputs, before the job started (0: not measured by the caller)."""
    plan: float = 0.0
    """Seconds checking and planning the job (bind, chunk plan, job folder), before it started."""
    work: float = 0.0
    """Seconds from the job's start until the last task returned."""
    worker_start: float = 0.0
    """Slot-seconds from a copy's dispatch until its worker began it: a worker process still
    starting or warming up, and the hand-over."""
    read: float = 0.0
    """Slot-seconds workers spent getting their inputs ready."""
    compute: float = 0.0
    """Slot-seconds in ffmpeg (or a Python stage): the work itself."""
    write: float = 0.0
    """Slot-seconds making and storing outputs."""
    handoff: float = 0.0
    """Slot-seconds from a worker's end of a copy until the coordinator took its result."""
    wasted: float = 0.0
    """Slot-seconds of copies whose work was not used: failed, superseded, duplicated."""
    idle: float = 0.0
    """Slot-seconds free slots waited before the last task started: no task was ready."""
    tail: float = 0.0
    """Slot-seconds free slots waited after the last task started: nothing was left to run."""
    assembly: float = 0.0
    """Seconds from the last task's return to the end: the stream closed, final files assembled."""
    cpu: float = 0.0
    """CPU-seconds the workers used on the job's tasks (ffmpeg included); on a virtual clock,
    the modelled compute seconds."""
    coordinator_cpu: float = 0.0
    """CPU-seconds of the coordinator's process and the ffmpeg it ran (audio, assembly)."""
    utilisation: float = 0.0
    """``cpu / (cores * wall)``: the share of the cores the workers kept busy, 0 to 1."""

    #: Every part of the job's time, in order: seconds on the wall for those every slot loses
    #: at once (:data:`WALL_PARTS`), slot-seconds for the others.
    PARTS: ClassVar[tuple[str, ...]] = (
        "probe", "plan", "worker_start", "read", "compute", "write", "handoff", "wasted", "idle",
        "tail", "assembly",
    )  # fmt: skip
    WALL_PARTS: ClassVar[tuple[str, ...]] = ("probe", "plan", "assembly")

    def seconds(self) -> dict[str, float]:
        """Each part in seconds of the job's wall time (slot-seconds over the slots): they add
        up to ``probe + plan + work + assembly``."""
        slots = max(1, self.slots)
        return {name: getattr(self, name) / (1 if name in self.WALL_PARTS else slots) for name in self.PARTS}

    def headline(self) -> str:
        """One line: utilisation and the largest loss (``82% of 2 cores busy; largest loss: ...``)."""
        losses = {name: seconds for name, seconds in self.seconds().items() if name != "compute"}
        name = max(losses, key=losses.__getitem__)
        total = self.probe + self.plan + self.work + self.assembly
        share = 100 * losses[name] / total if total else 0.0
        return (
            f"{100 * self.utilisation:.0f}% of {self.cores} cores busy; largest loss: "
            f"{name.replace('_', ' ')} {losses[name]:.2f}s ({share:.0f}% of {total:.2f}s)"
        )


@dataclass(frozen=True)
class NodeWork:
    """What the workers of one node (one machine of the job's backend) did."""

    tasks: int = 0
    """Results the job kept from the node, resumed ones excepted."""
    frames: int = 0
    """Frames those tasks wrote."""
    worker_seconds: float = 0.0
    """Their read + compute + write seconds."""
    cpus: int = 0
    """The node's CPUs, where the backend says (Ray); 0 where it does not."""
    gpus: int = 0
    """The node's GPUs, where the backend says."""

    #: Keys of a result's ``meta`` under which an executor that knows its nodes' sizes puts them.
    CPUS_KEY: ClassVar[str] = "node_cpus"
    GPUS_KEY: ClassVar[str] = "node_gpus"

    @staticmethod
    def apart(nodes: dict[str, NodeWork]) -> bool:
        """Whether ``nodes`` are worth a line each: several machines whose sizes the backend
        knows (a Ray cluster's), not one machine, nor a service's throwaway sandboxes (Lambda's)."""
        return len(nodes) > 1 and any(work.cpus for work in nodes.values())

    def add(self, frames: int, seconds: float, meta: dict[str, Any]) -> NodeWork:
        """This and one more task of the node's: ``frames`` written in ``seconds`` of work, and
        the ``meta`` of its result, where the node's size may be."""
        return NodeWork(
            tasks=self.tasks + 1,
            frames=self.frames + frames,
            worker_seconds=self.worker_seconds + seconds,
            cpus=int(meta.get(self.CPUS_KEY, self.cpus)),
            gpus=int(meta.get(self.GPUS_KEY, self.gpus)),
        )


@dataclass(frozen=True)
class JobFinished(Event):
    KIND: ClassVar[str] = "job_finished"
    job_id: str
    outputs: dict[str, str]
    """Output endpoint -> final file."""
    playlist: str
    """The HLS playlist of the first output."""
    wall: float
    """Seconds from start to the final file."""
    first_segment: float
    """Seconds from start until the first segment was playable."""
    duration_out: float
    """Seconds of output video."""
    frames_out: int
    peak_rss_mb: float
    """Coordinator's peak resident memory, MiB."""
    worker_seconds: float = 0.0
    """Sum over tasks of read + compute + write seconds."""
    invocations: int = 0
    """Tasks submitted, retries included."""
    peak_workers: int = 0
    """Most tasks in flight at once."""
    deadline_misses: int = 0
    """Segments that became playable after their playback deadline."""
    billed_seconds: float = 0.0
    """Duration the backend billed for the tasks (Lambda's REPORT lines); 0 where none is billed."""
    breakdown: Breakdown | None = None
    """Where the time went; None in journals written before jobs kept it."""
    nodes: dict[str, NodeWork] = dataclasses.field(default_factory=dict)
    """Node name -> what its workers did; their ``worker_seconds`` add up to the job's."""
    tracks: list[str] = dataclasses.field(default_factory=list)
    """A line per audio and subtitle track of the final files: copied, transcoded or dropped."""

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.breakdown is not None:
            out["breakdown"] = dataclasses.asdict(self.breakdown)
        out["nodes"] = {name: dataclasses.asdict(work) for name, work in self.nodes.items()}
        return out

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> JobFinished:
        breakdown = fields.pop("breakdown", None)
        nodes = {name: NodeWork(**work) for name, work in fields.pop("nodes", {}).items()}
        return cls(**fields, breakdown=Breakdown(**breakdown) if breakdown else None, nodes=nodes)


@dataclass(frozen=True)
class JobFailed(Event):
    KIND: ClassVar[str] = "job_failed"
    job_id: str
    error: str


@dataclass(frozen=True)
class JobPaused(Event):
    """Dispatching stopped (``paused``) or started again; running tasks carry on either way."""

    KIND: ClassVar[str] = "job_paused"
    paused: bool


@dataclass(frozen=True)
class JobCancelled(Event):
    """The user cancelled the job; what finished stays in the job folder for ``resume``."""

    KIND: ClassVar[str] = "job_cancelled"
    job_id: str


#: Events after which a job's journal gets no more lines.
TERMINAL = (JobFinished, JobFailed, JobCancelled)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        JobStarted, TaskQueued, TaskStarted, TaskProgress, TaskFinished, TaskFailed,
        TaskSuperseded, ChunkStaged, SegmentReady, JobPaused, JobFinished, JobFailed, JobCancelled,
    )
}  # fmt: skip


def event_from_dict(raw: dict[str, Any]) -> Event:
    fields = dict(raw)
    return EVENT_TYPES[fields.pop("kind")].from_fields(fields)
