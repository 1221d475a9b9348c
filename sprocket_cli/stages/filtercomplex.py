"""filter_complex: a user's ffmpeg ``-filter_complex`` graph over two videos, in parallel chunks.

``[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16`` reads the first input's frames on port
``frames_0`` and the second's on ``frames_1``, as the lanes of one ffmpeg process per chunk.
The second input is cut on the first's chunk spans (as for blend, the ``pair`` delivery), so
each task holds the same stretch of time of both, plus a frame either side; the graph's own
multi-input filters pair the frames by timestamp, as in a whole-file run, and each chunk keeps
the output frames in its span. The output has plain ``ffmpeg -filter_complex``'s frames and
times: each input's times count from its first video frame (ffmpeg counts from the file's
start, which is that frame unless another stream starts earlier), and the output goes on to
the end of the longest input, as ffmpeg's multi-input filters do by default.
Which graphs split is :mod:`sprocket_cli.plan.complexmodel`'s call, made when the job is planned:
for windowed filters, each chunk of the first input also decodes the frames they read around
it, and the span kept after the graph drops what they gave there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator

from sprocket_cli.errors import BadFilterError
from sprocket_cli.media.command import JOINED, timescale_for
from sprocket_cli.plan.complexgraph import parse_complex
from sprocket_cli.stages.base import Binding, Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef

#: The finest output track ticks asked for (a track's timescale is a 32-bit count).
_MAX_TIMESCALE = 2**31 - 1
#: framesync's own rule: inputs whose time bases share no denominator under this are synced in
#: microseconds (libavfilter/framesync.c).
_FRAMESYNC_LCM_LIMIT = 500_000


class Clock(StageConfig):
    """One input's clock, from the probe."""

    time_base: str
    """Seconds per tick of its video stream (``"1/12800"``)."""
    first_pts: int
    """Its first frame's timestamp: its time zero."""


class FilterComplexConfig(StageConfig):
    graph: str = Field(min_length=1, description="ffmpeg filter graph, as given to ffmpeg -filter_complex")
    clocks: tuple[Clock, ...] = ()
    """Each input's clock, filled in when the job is planned."""
    numbered: tuple[tuple[int, int, int], ...] = ()
    """The filters (chain, position) whose frame numbers count an input's frames, with that
    input: each chunk counts from its first decoded frame's number in that input (filled in
    when the job is planned)."""
    ticks: int = 1
    """How many times finer than the first input's the output track's ticks are, so that every
    output time is a whole number of them (filled in when the job is planned)."""

    @field_validator("graph")
    @classmethod
    def _parses(cls, graph: str) -> str:
        try:
            parse_complex(graph)
        except BadFilterError as exc:
            raise ValueError(str(exc)) from None  # pydantic reports it with the node's location
        return graph


class FilterComplex(Stage[FilterComplexConfig]):
    NAME: ClassVar[str] = "filter_complex"
    DESCRIPTION: ClassVar[str] = "Run an ffmpeg -filter_complex graph over two videos, paired by time"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames_0", "frames_1")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = FilterComplexConfig

    def bind(self, config: FilterComplexConfig, inputs: Sequence[MediaInfo]) -> Binding:
        # The planner's side: workers never classify.
        from sprocket_cli.plan.complexmodel import frames_for, model_graph

        graph = parse_complex(config.graph)
        graph.check_inputs(len(inputs))
        model = model_graph(graph)  # refused before any work, in one line
        intervals = [_intervals(info) for info in inputs]
        ends = [(info.end_pts - info.frame_pts[0]) * info.time_base for info in inputs]
        model.check_tails(ends, [i[0] for i in intervals], [i[1] for i in intervals])
        before, after = model.roll_seconds([i[1] for i in intervals])
        shortest = intervals[0][0]
        first = inputs[0]
        # The output ends with the longest input it reads (each timed from its own first frame).
        end = max(ends[n] for n in graph.reads)
        end_pts = first.frame_pts[0] + math.ceil(end / first.time_base)
        clocks = tuple(Clock(time_base=str(i.time_base), first_pts=i.frame_pts[0]) for i in inputs)
        return Binding(
            config.model_copy(
                update={
                    "clocks": clocks,
                    "ticks": _track_ticks(inputs),
                    "numbered": tuple((c, s, n) for (c, s), n in sorted(model.numbered.items())),
                }
            ),
            end_pts=end_pts,
            # The first input's chunk also decodes the frame after its end, so that no input ends
            # inside the span: a multi-input filter acts when one does (an overlay whose main
            # input ended takes its timing from the other); and the frames windowed filters
            # read on either side.
            roll=(frames_for(before, shortest), frames_for(after, shortest) + 1),
        )

    def contribute(self, config: FilterComplexConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        if not config.clocks:
            raise ValueError("filter_complex's config was not bound to the job's inputs")
        # Frame numbers count from the first frame the chunk decodes of the input they count.
        offsets = {(c, s): command.lane_chunks[n].lead_index for c, s, n in config.numbered}
        graph = parse_complex(config.graph).renumbered(offsets)
        for lane in range(len(command.lanes)):
            if lane not in graph.reads:
                command.drop_lane(lane)
                continue
            clock = config.clocks[lane]
            # Lanes read from storage come in the intermediate's time base (NUT picks its own);
            # then times count from each video's first frame, as in plain ffmpeg.
            command.add_lane_filter(lane, f"settb={clock.time_base},setpts=PTS-{clock.first_pts}")
        zero = config.clocks[0]
        spans = [f"gte(pts,{_on_output_clock(chunk.start_pts - zero.first_pts, zero)})"]
        if not chunk.is_last:
            spans.append(f"lt(pts,{_on_output_clock(chunk.end_pts - zero.first_pts, zero)})")
        keep = f"select='{'*'.join(spans)}'"
        command.join(graph.render({n: command.lane_label(n) for n in graph.reads}, keep, JOINED))
        command.keep = None  # the rolled frame is dropped by the select, with the frames before
        command.timescale_factor = config.ticks
        command.plain_clock = True


def _intervals(info: MediaInfo) -> tuple[Fraction, Fraction]:
    """The shortest and the longest time between two frames of ``info``, seconds (a video of
    one frame: its frame duration)."""
    steps = [b - a for a, b in itertools.pairwise(info.frame_pts)] or [info.end_pts - info.frame_pts[0]]
    return min(steps) * info.time_base, max(steps) * info.time_base


def _on_output_clock(ticks: int, clock: Clock) -> str:
    """An expression for ``ticks`` of the first input in the graph output's time base (TB),
    rounded as ffmpeg rounds a timestamp it moves into a coarser one: the first input's frame
    there lands on it, whatever base the graph's filters chose."""
    seconds = ticks * Fraction(clock.time_base)
    return f"floor({seconds.numerator}/{seconds.denominator}/TB+0.5)"


def _track_ticks(inputs: Sequence[MediaInfo]) -> int:
    """The output track's ticks as a multiple of the first input's: fine enough for the times
    of every input, for ffmpeg's encoder time base (1/frame rate of the graph's output, one of
    the inputs' rates) and for framesync's microseconds when the inputs' bases share no small
    multiple. Times it cannot hold exactly round to the nearest tick."""
    base = timescale_for(inputs[0].time_base)
    bases = math.lcm(*(i.time_base.denominator for i in inputs))
    wanted = math.lcm(base, bases, *(i.fps.numerator for i in inputs))
    if bases >= _FRAMESYNC_LCM_LIMIT:
        wanted = math.lcm(wanted, 1_000_000)
    for ticks in (wanted, math.lcm(base, bases)):
        if ticks <= _MAX_TIMESCALE:
            return ticks // base
    return 1
