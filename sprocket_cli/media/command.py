"""One ffmpeg invocation for a fused chain of stages over one chunk.

Each stage of a task adds its part (decode: where to read and which frames to keep; filters:
a filter-graph fragment; encode: codec options) to a :class:`ChunkCommand`, and the worker runs
the result as a single process with no intermediate files between the stages. A chain that
does not start with a decode reads a lossless intermediate; one that does not end with an
encode writes one (FFV1 in NUT, which keeps the source's timestamps exactly).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import ffmpeg

from sprocket_cli.media.codecs import threaded

if TYPE_CHECKING:
    from sprocket_cli.media.renditions import Rendition
    from sprocket_cli.media.targetq import Target
    from sprocket_cli.tasks import ChunkRef

#: The last filter before the encoder: even sizes, so that a chain whose output is odd
#: (175x143) still encodes in 4:2:0 (174x142), where plain ffmpeg would stop with an error.
#: The pixel format is left to ffmpeg, as plain ``ffmpeg -vf`` leaves it: the encoder takes
#: the format nearest the chain's output (4:2:0 from 4:2:0 sources, 4:4:4 after filters that
#: work in RGB, such as curves or colorbalance), so the frames are ffmpeg's.
ENCODER_INPUT = "crop=trunc(iw/2)*2:trunc(ih/2)*2"
#: Fragmented, a fragment per keyframe, decode times from each fragment: a CMAF segment.
SEGMENT_MOVFLAGS = "+cmaf+frag_keyframe+empty_moov+default_base_moof"
#: The frames an encoder would get, kept losslessly for :meth:`ChunkCommand.encode_args` to
#: encode later (``--target-vmaf`` probes them, then encodes them once): FFV1 in plain MP4 at the
#: track's timescale keeps each frame's time exactly and its colour tags and HDR side data,
#: which NUT drops.
LOSSLESS = {"c:v": "ffv1", "format": "mp4"}


@dataclass
class Lane:
    """One input of a task's ffmpeg process and the filters on it before the inputs are joined."""

    path: str
    seek_seconds: float | None = None
    filters: list[str] = field(default_factory=list)
    dropped: bool = False
    """Not opened at all: the joining stage found nothing to take from it in this chunk."""


#: The label a joining stage's graph writes (its inputs are :meth:`ChunkCommand.lane_label`).
JOINED = "joined"


@dataclass
class ChunkCommand:
    """Accumulates the parts of one chunk's ffmpeg command line.

    A task with one input builds one chain: the decode stage sets where to read, the others add
    filters. A task with several inputs (blend) has a *lane* per input: each stage before the
    join works on its lane (:meth:`focus`), the joining stage adds a graph over the lanes
    (:meth:`join`), and the stages after it extend the joined chain.
    """

    paths: list[str]
    threads: int = 0
    """Encoder and decoder threads; 0 lets ffmpeg choose."""
    filters: list[str] = field(default_factory=list)
    """The chain after the join (the only chain of a single-input task)."""
    encoder: dict[str, str | int] | None = None
    target: Target | None = None
    """A quality the encoder must reach in each chunk (``--target-vmaf``): the worker searches
    for its crf (:func:`~sprocket_cli.media.targetq.encode_to_target`); None: the encoder's own."""
    scale: str | None = None
    """The main output's size, set after every stage's filters (a ladder's top rung); None:
    the chain's."""
    renditions: list[Rendition] = field(default_factory=list)
    """More outputs of the same decode (a ladder's other rungs, an H.264 preview): the chain's
    frames are split, and each rendition gets its own scale and encoder."""
    segment_format: str = "mp4"
    """The encoder's output: fragmented MP4, or MOV for the codecs MP4 has no tag for (ProRes)."""
    timescale: int = 90000
    """Ticks per second of the output track (the source's time base, so times stay exact)."""
    timescale_factor: int = 1
    """How many times finer than the source's the track's ticks are: a filter that puts frames
    between the source's (a frame per field, an fps grid) asks for finer ones."""
    end_seconds: float | None = None
    """Drop frames at or after this time once every filter ran (a rate change can add one)."""
    keep: tuple[float, float | None] | None = None
    """The chunk's own frames (start, end seconds; end None: to the end), kept once every filter
    ran, when the chunk decoded neighbouring frames for windowed filters; only time-preserving
    chains are rolled, so the frames still carry their source timestamps."""
    resync: tuple[float, float | None] | None = None
    """The span (start, end output seconds; end None: to the end) a retime's chunk keeps once
    ffmpeg's encoder put the chain's frames on its frame-rate grid, dropping those whose slot
    was taken. The chain runs into an encoder whose frames a decoder loops back into a second
    graph, which keeps the span: ffmpeg's own rule, not a copy of it."""
    join_graph: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    """Facts delivered to the task (input port -> JSON): where draw finds the faces' boxes."""
    skip: bool = False
    """A stage dropped every frame of the chunk: no ffmpeg runs and the segment is empty."""
    scratch: str | None = None
    """The task's own temporary folder, for files a stage hands to its filter (removed with
    the task)."""
    plain_clock: bool = False
    """The joined graph's output keeps its own clock, as plain ``ffmpeg -filter_complex``'s
    does: encoded in ffmpeg's default time base (1/frame rate where the graph knows its rate),
    each segment placed at its first frame, which may come from any input (an overlay on the
    second input's frames) and so is known only once ffmpeg ran. Its times count from the
    first input's first frame."""
    lane_chunks: list[ChunkRef] = field(default_factory=list)
    """Each lane's chunk, the first input's then the task's other inputs', for a joining stage
    (frame numbers on an input's branch count from its chunk's first frame)."""
    lanes: list[Lane] = field(init=False)
    _focus: int | None = field(default=None, init=False)
    _moved_to: int | None = field(default=None, init=False)
    _frame_log: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.lanes = [Lane(p) for p in self.paths]

    @property
    def start_ticks(self) -> int | None:
        """Where the segment starts on the output timeline, in :attr:`timescale` ticks, when a
        stage moved it (scene_keep closes the timeline up over dropped scenes; with
        :attr:`plain_clock`, the encoder's first frame, so read it once ffmpeg ran); None:
        where the chunk starts in the source."""
        if self._frame_log is not None and (first := _first_logged(self._frame_log)) is not None:
            return round(first * self.timescale)
        return self._moved_to

    @start_ticks.setter
    def start_ticks(self, ticks: int | None) -> None:
        self._moved_to = ticks

    def focus(self, lane: int | None) -> None:
        """Direct the next stage's seek and filters to ``lane`` (None: the joined chain)."""
        self._focus = lane

    @property
    def on_lane(self) -> bool:
        """Whether the stage now contributing works on one input before a join."""
        return self._focus is not None and len(self.lanes) > 1

    @property
    def _lane(self) -> Lane:
        return self.lanes[self._focus or 0]

    @property
    def seek_seconds(self) -> float | None:
        return self._lane.seek_seconds

    @seek_seconds.setter
    def seek_seconds(self, value: float | None) -> None:
        self._lane.seek_seconds = value

    def add_filter(self, fragment: str) -> None:
        if self.on_lane:
            self._lane.filters.append(fragment)
        else:
            self.filters.append(fragment)

    def add_lane_filter(self, lane: int, fragment: str) -> None:
        """Add to ``lane``'s chain from a stage that works on the joined chain (the joiner)."""
        self.lanes[lane].filters.append(fragment)

    @staticmethod
    def lane_label(lane: int) -> str:
        return f"lane{lane}"

    def join(self, graph: str) -> None:
        """Join the lanes with ``graph``, which reads ``[laneN]`` and writes ``[joined]``."""
        self.join_graph = graph

    def drop_lane(self, lane: int) -> None:
        self.lanes[lane].dropped = True

    def args(self, output_path: str, *, lossless: bool = False) -> list[str]:
        """ffmpeg arguments (without the binary) writing to ``output_path``; ``lossless``: the
        frames the encoder would get, in :data:`LOSSLESS`, for :meth:`encode_args`."""
        if len(self.lanes) > 1:
            return self._joined_args(output_path, lossless)
        if self.resync is not None:
            return self._resync_args(output_path, self.resync, lossless)
        lane = self.lanes[0]
        if self.renditions:  # a split needs a graph, which -vf cannot name outputs of
            chain = f"[0:v:0]{','.join(self._tail()) or 'null'}[out]"
            graph = self._graph_output(chain, output_path, logged=self.plain_clock, lossless=lossless)
            return [*_flags(self._input_options(lane)), "-i", lane.path, *graph]
        stream = ffmpeg.input(lane.path, **self._input_options(lane))["v:0"]
        out_opts: dict[str, object] = {"an": None, "sn": None, "dn": None, "map_metadata": -1}
        graph = self._tail()
        if graph:
            out_opts["vf"] = ",".join(graph)
        if self.plain_clock:
            out_opts.update(self._frame_log_options(output_path))
        out_opts.update(self._output_options(lossless))
        out = ffmpeg.output(stream, output_path, **out_opts)
        return [str(a) for a in ffmpeg.get_args(out, overwrite_output=True)]

    def _input_options(self, lane: Lane) -> dict[str, object]:
        opts: dict[str, object] = {"copyts": None}
        if lane.seek_seconds is not None:
            # Seek to the keyframe itself (its own timestamp, not an offset from the file's
            # start: MPEG-TS starts at 1.4 s); the decode stage's trim drops any pre-roll.
            opts.update(ss=repr(lane.seek_seconds), noaccurate_seek=None, seek_timestamp=1)
        if self.threads:
            opts["threads"] = self.threads
        return opts

    def _tail(self) -> list[str]:
        """The filters after the join, then what :meth:`_finish` adds."""
        return [*self.filters, *self._finish()]

    def _finish(self) -> list[str]:
        """The end trims and what the encoder needs, after every stage's filters."""
        graph = []
        if self.keep is not None:
            # In seconds: a deinterlacer halves the time base, so ticks would not match. trim
            # rounds seconds to the nearest tick, far closer than any two frames.
            start, end = self.keep
            graph.append(f"trim=start={start!r}" + ("" if end is None else f":end={end!r}"))
        if self.end_seconds is not None:
            graph.append(f"trim=end={self.end_seconds!r}")
        if self.encoder is not None and not self.renditions:  # else after the split
            graph += self._sized()
        return graph

    def _sized(self) -> list[str]:
        """The main output's scale and what its encoder needs."""
        return [*([self.scale] if self.scale else []), ENCODER_INPUT]

    def encode_args(self, frames_path: str, output_path: str) -> list[str]:
        """ffmpeg arguments encoding ``frames_path`` (what :meth:`args` wrote with ``lossless``)
        to ``output_path`` as :meth:`args` would have encoded them: the source is not decoded
        again and no filter runs again. The encoder's time base is the one :meth:`args` gives
        it, so each frame keeps its time; a logged first frame is logged again."""
        lane = Lane(frames_path)
        args = [*_flags(self._input_options(lane)), "-i", frames_path, "-map", "0:v:0"]
        args += ["-an", "-sn", "-dn", "-map_metadata", "-1"]
        if self._frame_log is not None:
            args += _flags(self._frame_log_options(output_path))
        elif len(self.lanes) > 1:
            args += ["-enc_time_base:v", "filter"]  # as _graph_output sets it
        return [*args, *_flags(self._output_options()), "-y", output_path]

    def _output_options(self, lossless: bool = False) -> dict[str, object]:
        if self.encoder is None:
            return {"c:v": "ffv1", "format": "nut", "fps_mode": "passthrough"}
        if lossless:
            return {**LOSSLESS, "video_track_timescale": self.timescale, **self._thread_options()}
        return self._segment_options(self.encoder, self.segment_format)

    def _segment_options(self, encoder: Mapping[str, str | int], segment_format: str) -> dict[str, object]:
        """An encoder's output as a fragmented segment on the track's timescale."""
        opts: dict[str, object] = dict(threaded(encoder, self.threads))
        opts.update(
            format=segment_format,
            movflags=SEGMENT_MOVFLAGS,
            video_track_timescale=self.timescale,
            fflags="+bitexact",  # identical init segments across chunks
            **{"flags:v": "+bitexact"},
        )
        opts.update(self._thread_options())
        return opts

    def _thread_options(self) -> dict[str, object]:
        """The encoder's threads, and the filter graph's: ffmpeg gives a graph one thread per
        core by default, and a worker's slice-threaded filters (hue, scale, ...) then cost
        about 5 % more CPU in thread hand-offs while the other workers hold the cores."""
        if not self.threads:
            return {}
        return {key: self.threads for key in ("threads", "filter_threads", "filter_complex_threads")}

    def _joined_args(self, output_path: str, lossless: bool) -> list[str]:
        # ffmpeg-python cannot take a ready-made filter graph, so this list is built by hand
        # (still an argument list, never a shell string).
        if self.join_graph is None:
            raise ValueError("a task with several inputs needs a stage that joins them")
        args: list[str] = []
        chains = []
        for index, lane in enumerate(self.lanes):
            if lane.dropped:
                continue
            position = sum(1 for other in self.lanes[:index] if not other.dropped)
            args += [*_flags(self._input_options(lane)), "-i", lane.path]
            chains.append(f"[{position}:v:0]{','.join(lane.filters) or 'null'}[{self.lane_label(index)}]")
        tail = ",".join(self._tail()) or "null"
        graph = ";".join([*chains, self.join_graph, f"[{JOINED}]{tail}[out]"])
        return [*args, *self._graph_output(graph, output_path, logged=self.plain_clock, lossless=lossless)]

    def _resync_args(self, output_path: str, span: tuple[float, float | None], lossless: bool) -> list[str]:
        lane = self.lanes[0]
        chain = ",".join(self.filters) or "null"
        # Output 0: the chain into a throwaway encoder, whose frame-rate conversion (vfr, the
        # default for MP4, MKV and WebM outputs) is what plain ffmpeg's output gets.
        args = [*_flags(self._input_options(lane)), "-i", lane.path, "-map", "0:v:0", "-vf", chain]
        args += ["-an", "-sn", "-dn", "-c:v", "rawvideo", "-fps_mode:v", "vfr", "-f", "rawvideo", os.devnull]
        start, end = span
        trim = f"trim=start={start!r}" + ("" if end is None else f":end={end!r}")
        tail = ",".join([trim, *self._finish()])
        # The looped-back frames are on the grid already: the second output keeps them as they are.
        args += ["-dec", "0:0", "-fps_mode:v", "passthrough"]
        return [
            *args,
            *self._graph_output(f"[dec:0]{tail}[out]", output_path, logged=True, lossless=lossless),
        ]

    def _frame_log_options(self, output_path: str) -> dict[str, object]:
        """The encoder logs the time of each frame it is given; the first places the segment."""
        if self.encoder is None:
            return {}
        self._frame_log = f"{output_path}.frames"
        return {"stats_enc_pre:v": self._frame_log, "stats_enc_pre_fmt:v": "{pts} {tb}"}

    def _graph_output(self, graph: str, output_path: str, *, logged: bool, lossless: bool) -> list[str]:
        """The arguments from ``-filter_complex graph`` to the outputs, the graph writing
        ``[out]``: the main output, then each rendition's (its frames split off ``[out]``)."""
        main = "out"
        if self.renditions:
            split = "".join(f"[r{i}]" for i in range(len(self.renditions)))
            graph += f";[out]split={len(self.renditions) + 1}[main]{split}"
            graph += f";[main]{','.join(self._sized())}[top]"
            graph += "".join(
                f";[r{i}]{r.scale},{ENCODER_INPUT}[rendition{i}]" for i, r in enumerate(self.renditions)
            )
            main = "top"
        log = self._frame_log_options(output_path) if logged else {}
        # Keep the graph's exact timestamps: the default encoder time base (1/frame rate)
        # would move frames of a source that does not start on that grid. A logged output
        # keeps the default, and its renditions with it, so that their times are its own.
        clock = _flags(log) if log else ["-enc_time_base:v", "filter"]
        args = ["-filter_complex", graph, *_output_head(main), *clock]
        args += [*_flags(self._output_options(lossless)), "-y", output_path]
        for i, r in enumerate(self.renditions):
            args += [*_output_head(f"rendition{i}"), *([] if log else clock)]
            args += [*_flags(self._segment_options(r.encoder, r.segment_format)), "-y", r.path(output_path)]
        return args


def _output_head(label: str) -> list[str]:
    """An output of the graph's ``[label]``, video alone, with no metadata of the source."""
    return ["-map", f"[{label}]", "-an", "-sn", "-dn", "-map_metadata", "-1"]


def _flags(options: Mapping[str, object]) -> list[str]:
    """``options`` as ffmpeg arguments, spelled as ffmpeg-python spells them."""
    args: list[str] = []
    for key, value in options.items():
        flag = "-f" if key == "format" else f"-{key}"
        args += [flag] if value is None else [flag, str(value)]
    return args


def _first_logged(path: str) -> Fraction | None:
    """The first frame's time in seconds from an encoder's ``{pts} {tb}`` log; None if it
    logged none (the chunk gave no frame)."""
    try:
        with open(path, encoding="ascii") as log:
            first = log.readline().split()
    except FileNotFoundError:
        return None
    return int(first[0]) * Fraction(first[1]) if len(first) == 2 else None


def grid_period(rate: Fraction, time_base: Fraction) -> int:
    """Every how many slots of a 1/``rate`` grid one falls on a whole ``time_base`` tick."""
    return (1 / (rate * time_base)).denominator


def timescale_for(time_base: Fraction) -> int:
    """The output track timescale that represents ``time_base`` ticks exactly when possible."""
    return time_base.denominator if time_base.numerator == 1 else 90000
