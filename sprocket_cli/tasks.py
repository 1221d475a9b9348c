"""Task and Result: the plain, JSON-serialisable values that travel to and from workers."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from sprocket_cli.media.chunking import Chunk
from sprocket_cli.media.command import timescale_for

ItemType = Literal["frames", "chunks", "meta"]
"""Decoded frames (lossless intermediate), encoded segments, or JSON facts about a span
(scene cuts, faces) that later tasks read as context."""


@dataclass(frozen=True)
class ChunkRef:
    """Which piece of the source a task works on, in the source's own pts ticks."""

    index: int
    start_pts: int
    end_pts: int
    seek_pts: int
    tb_num: int
    tb_den: int
    is_last: bool
    frame_count: int
    origin_pts: int = 0
    """The source's first frame; segments are placed relative to it (the stream starts at 0)."""
    lead_pts: int | None = None
    """The first frame decoded for windowed filters (before ``start_pts``); None: the start."""
    tail_pts: int | None = None
    """Where decoding for windowed filters ends (after ``end_pts``); None: the end."""
    lead_index: int = 0
    """The source frame number of the first frame the filters see."""
    first_index: int = 0
    """The source frame number of the chunk's own first frame."""

    @classmethod
    def of(cls, chunk: Chunk) -> ChunkRef:
        return cls(
            index=chunk.index,
            start_pts=chunk.start_pts,
            end_pts=chunk.end_pts,
            seek_pts=chunk.seek_pts,
            tb_num=chunk.time_base.numerator,
            tb_den=chunk.time_base.denominator,
            is_last=chunk.is_last,
            frame_count=chunk.frame_count,
            origin_pts=chunk.origin_pts,
            lead_pts=chunk.lead_pts,
            tail_pts=chunk.tail_pts,
            lead_index=chunk.lead_index,
            first_index=chunk.first_index,
        )

    @property
    def rolled(self) -> bool:
        """Whether the chunk decodes frames of its neighbours for windowed filters."""
        return self.lead_pts is not None or self.tail_pts is not None

    @property
    def time_base(self) -> Fraction:
        return Fraction(self.tb_num, self.tb_den)

    @property
    def seek_seconds(self) -> float:
        return float(self.seek_pts * self.time_base)

    @property
    def start_seconds(self) -> float:
        return float(self.start_pts * self.time_base)

    @property
    def end_seconds(self) -> float:
        return float(self.end_pts * self.time_base)

    @property
    def offset_seconds(self) -> float:
        """Where the chunk starts on the output timeline (seconds from the first frame)."""
        return float((self.start_pts - self.origin_pts) * self.time_base)

    @property
    def timescale(self) -> int:
        """Ticks per second of an encoded segment's track."""
        return timescale_for(self.time_base)

    def in_time_base(self, time_base: Fraction) -> ChunkRef:
        """This chunk in ``time_base`` ticks, which must divide its own exactly (the time base
        of a staged chunk file, which MP4 may refine: 1/1000 becomes 1/16000)."""
        scale = self.time_base / time_base
        if scale.denominator != 1:
            raise ValueError(f"time base {time_base} does not divide {self.time_base}")
        k = scale.numerator
        return dataclasses.replace(
            self,
            start_pts=self.start_pts * k,
            end_pts=self.end_pts * k,
            seek_pts=self.seek_pts * k,
            origin_pts=self.origin_pts * k,
            lead_pts=None if self.lead_pts is None else self.lead_pts * k,
            tail_pts=None if self.tail_pts is None else self.tail_pts * k,
            tb_num=time_base.numerator,
            tb_den=time_base.denominator,
        )

    @property
    def start_ticks(self) -> int:
        """The chunk's start on the output timeline, which begins at 0 like the audio
        rendition's, in :attr:`timescale` ticks (exact when the time base allows)."""
        return round((self.start_pts - self.origin_pts) * self.time_base * self.timescale)


@dataclass(frozen=True)
class StageCall:
    node: str
    stage: str
    config: dict[str, Any]
    lane: int | None = None
    """In a task with several inputs: the input (lane) this node works on before they are
    joined; None for the joining node and those after it, and in single-input tasks."""


@dataclass(frozen=True)
class LaneInput:
    """A task's second (third, ...) input: the same span of presentation time as its chunk."""

    chunk: ChunkRef
    source: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Fault:
    """Trouble to inject into one chunk's tasks, for tests and benchmarks (``--inject``)."""

    chunk: int
    sleep: float = 0.0
    """Seconds the first attempt's first copy stalls before working (a straggler)."""
    fail: int = 0
    """Fail this many first attempts with an error."""
    kill: int = 0
    """Kill the worker process on this many first attempts (as the OOM killer would)."""


@dataclass(frozen=True)
class Task:
    """One unit of work: a fused chain of stages over one chunk."""

    job_id: str
    task_id: str
    """Deterministic: the same chunk and nodes always give the same id (and output keys)."""
    group: str
    """The fused group of pipeline nodes this task runs."""
    chunk: ChunkRef
    stages: tuple[StageCall, ...]
    output_key: str
    """Storage key the worker writes, atomically."""
    output_type: ItemType
    source: str | None = None
    """Path or URL read by a chain that starts with decode."""
    input_key: str | None = None
    """Storage key of the intermediate read by a chain that does not start with decode."""
    threads: int = 0
    attempt: int = 1
    fault: Fault | None = None
    copy: int = 0
    """0 for the first copy of a task; clones and speculative backups count up."""
    partner: ChunkRef | None = None
    """gop-pair: the partner's chunk, which this worker takes on after its own if needed."""
    partner_task_id: str | None = None
    partner_output_key: str | None = None
    more: tuple[LaneInput, ...] = ()
    """Inputs after the first (``chunk``/``source``/``input_key``), in port order: blend's b."""
    context: dict[str, Any] = field(default_factory=dict)
    """Input port -> the JSON facts delivered on it (``meta`` items: scenes, faces)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Task:
        raw = json.loads(text)
        raw["chunk"] = ChunkRef(**raw["chunk"])
        raw["fault"] = Fault(**raw["fault"]) if raw.get("fault") else None
        raw["partner"] = ChunkRef(**raw["partner"]) if raw.get("partner") else None
        raw["stages"] = tuple(StageCall(**s) for s in raw["stages"])
        raw["more"] = tuple(
            LaneInput(ChunkRef(**m["chunk"]), m.get("source"), m.get("key")) for m in raw.get("more", ())
        )
        return cls(**raw)


@dataclass(frozen=True)
class Progress:
    """A worker's report on a task copy it is running (see :data:`~sprocket_cli.events.PHASES`)."""

    task_id: str
    copy: int
    worker: str
    phase: str
    frames: int


@dataclass(frozen=True)
class Timings:
    """Where a task's time went, in seconds (wall clock on the worker)."""

    started: float
    """Unix time the worker began."""
    read: float = 0.0
    compute: float = 0.0
    write: float = 0.0
    cpu: float = 0.0
    """CPU-seconds (user + system) the worker's process and its ffmpeg spent on the task: with
    the wall-clock phases, it tells a busy core from one waiting on the machine's others."""


@dataclass(frozen=True)
class Result:
    task_id: str
    chunk: int
    group: str
    output_key: str
    output_type: ItemType
    frames: int
    """Frames written."""
    timings: Timings
    worker: str
    """Which worker ran it (host:pid)."""
    init_key: str | None = None
    """For encoded segments: storage key of the shared init segment."""
    init_hash: str | None = None
    superseded: bool = False
    """True when another copy of the task stored the output first (this one's is dropped)."""
    start_ticks: int = 0
    """Where an encoded segment starts, in ``timescale`` ticks."""
    duration_ticks: int = 0
    timescale: int = 0
    codec: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Seconds of video in the segment (0 for intermediates)."""
        return self.duration_ticks / self.timescale if self.timescale else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (shallow; the coordinator makes one per task)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["timings"] = dataclasses.asdict(self.timings)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Result:
        raw = json.loads(text)
        raw["timings"] = Timings(**raw["timings"])
        return cls(**raw)
