"""filter: any ffmpeg video filter chain over frames (``hue=s=0``, ``scale=640:-2,fps=10``).

Chunked equals whole: the chain is classified before the job starts
(:func:`~sprocket_cli.plan.filtermodel.analyze`). Per-frame chains split as they are;
windowed ones (``tmix``, ``deflicker``) have each chunk decode the neighbouring frames they
read and drop them after the filters; a chain that cannot give plain ffmpeg's frames in
chunks (``reverse``, ``setpts=0.2*PTS``) runs on one worker, said in one line, or is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from sprocket_cli.errors import UsageError
from sprocket_cli.media.command import grid_period
from sprocket_cli.plan.cuts import restart_at
from sprocket_cli.plan.filtergraph import parse_graph
from sprocket_cli.plan.framefades import name_options
from sprocket_cli.plan.framenumbers import number_frames
from sprocket_cli.plan.framepicks import pack, packs, span, unpack
from sprocket_cli.stages.base import Binding, Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef


class Timeline(StageConfig):
    """Where a split chain's frames sit on the output timeline: decided once, when the job is
    planned (:meth:`Filter.bind`), so that workers need not classify the chain again."""

    grid: str | None = None
    """The rate an fps filter puts frames on (``"12"``, ``"30000/1001"``); None: no grid."""
    stretch: int = 1
    """How many times slower the chain plays (``setpts=2*PTS``: 2)."""
    ticks: int = 1
    """How many times finer than the source's the output track's ticks must be."""
    restart: bool = False
    """The chain opened with a cut the chunk plan made: times count from its first frame."""
    picks: str | None = None
    """Which source frames a select by frame number picks, for a setpts to pack
    (:func:`~sprocket_cli.plan.framepicks.pack`); the rate is the source's, ``rate``."""
    rate: str | None = None
    """The source's frame rate, where packed frames are one frame duration apart."""
    anchor: str | None = None
    """The rate of a filter whose grid counts from the first frame it is given (framerate,
    minterpolate): each chunk gives it its first frame again on the grid point before."""
    resync: str | None = None
    """A retime ffmpeg puts back on the frame-rate grid (``"1/2"`` for ``setpts=0.5*PTS``):
    each chunk keeps its frames by output time (:attr:`~sprocket_cli.plan.filtermodel.ChainPlan.resync`)."""
    whole: bool = False
    """The chain runs as one chunk from the first frame (it cannot be split): the output keeps
    the chain's own clock, as plain ffmpeg's does, so a trim of the first frames starts it late."""


class FilterConfig(StageConfig):
    vf: str = Field(min_length=1, description="ffmpeg filter chain, as given to ffmpeg -vf")
    fallback: bool = Field(
        default=True,
        description="run a chain that cannot be split on one worker (false: refuse it)",
    )
    timeline: Timeline = Timeline()
    """Filled in from the chain when the job is planned."""


class WholeVideoRefused(UsageError):
    """A chain that needs the whole video, with its one-worker fallback turned off."""


class Filter(Stage[FilterConfig]):
    NAME: ClassVar[str] = "filter"
    DESCRIPTION: ClassVar[str] = "Apply an ffmpeg filter chain, with plain ffmpeg's result"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = FilterConfig

    def bind(self, config: FilterConfig, inputs: Sequence[MediaInfo]) -> Binding:
        # The planner's side: workers never classify.
        from sprocket_cli.plan.filtermodel import analyze
        from sprocket_cli.plan.placement import place_cut, place_on_frame_grid, place_picks

        chain, span = place_cut(analyze(config.vf), inputs[0])
        chain, ticks = place_on_frame_grid(chain, inputs[0])
        chain, mask = place_picks(chain, inputs[0])
        if chain.split:
            timeline = Timeline(
                picks=None if mask is None else pack(mask),
                rate=None if mask is None else str(inputs[0].fps),
                grid=None if chain.rate is None or chain.anchor else str(chain.rate),
                anchor=None if chain.anchor is None else str(chain.anchor),
                stretch=1 if chain.resync else int(chain.scale),
                ticks=ticks,
                restart=chain.cut is not None,
                resync=str(chain.scale) if chain.resync else None,
            )
            # Frame-numbered fades with their options named, for workers to shift (framefades);
            # a cut left to the chunk plan.
            bound = config.model_copy(update={"timeline": timeline, "vf": name_options(chain.rest)})
            return Binding(bound, roll=(chain.preroll, chain.postroll), drops=chain.drops, span=span)
        if not config.fallback:
            raise WholeVideoRefused(f"{chain.reason}; it cannot be split into chunks (refused as asked)")
        # One chunk from the first frame: its frames sit where the whole file's do.
        whole = config.model_copy(update={"timeline": Timeline(whole=True)})
        return Binding(whole, whole=True, notice=f"{chain.reason}; running it on one worker")

    def contribute(self, config: FilterConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        # Frame numbers (n, %{n}) count from the chunk's first frame's number in the source,
        # as in a whole-file run; a chain that cannot do that runs as one chunk from frame 0.
        timeline = config.timeline
        if timeline.picks is not None and timeline.rate is not None:
            command.timescale_factor = timeline.ticks
            pack_picks(config.vf, command, chunk, unpack(timeline.picks), Fraction(timeline.rate))
            return
        vf = number_frames(config.vf, chunk.lead_index)
        # Where the chain's times count from: the source's zero, or the first frame of a cut.
        base = chunk.origin_pts if timeline.restart else 0
        if timeline.restart:
            vf = restart_at(vf, chunk.origin_pts)
            if command.keep is not None:  # the pre-roll's trim, on the restarted clock
                start, end = command.keep
                shift = float(base * chunk.time_base)
                command.keep = (start - shift, None if end is None else end - shift)
        if timeline.anchor is not None and not command.on_lane:
            vf = f"{anchor_grid(chunk, Fraction(timeline.anchor))},{vf}"
        command.add_filter(vf)
        if command.on_lane:
            return  # one input's frames before a join: the joined chain places the output
        command.timescale_factor = timeline.ticks
        if timeline.whole:
            # The encoder's log of its first frame places the segment: the chain's first
            # output frame is not the source's first frame when it drops leading frames.
            command.plain_clock = True
            return
        if timeline.anchor is not None:
            # The chunk keeps its own frames' slots (the decode stage's keep); the encoder's
            # log of the first places the segment.
            command.plain_clock = True
            return
        if timeline.resync is not None:
            # The chunk's frames are those whose output times fall in its span scaled; the
            # encoder's log of the first places the segment.
            scale = Fraction(timeline.resync)
            start = float(chunk.start_pts * chunk.time_base * scale)
            end = None if chunk.is_last else float(chunk.end_pts * chunk.time_base * scale)
            command.keep = None
            command.resync = (start, end)
            return
        if timeline.grid is not None:
            place_on_grid(command, chunk, Fraction(timeline.grid), base)
        elif timeline.stretch != 1 or timeline.ticks != 1:
            # A stretch (setpts=2*PTS) puts the chunk's frames at that multiple of their times.
            ticks = chunk.timescale * timeline.ticks
            since = (chunk.start_pts - chunk.origin_pts) * chunk.time_base
            command.start_ticks = round(since * timeline.stretch * ticks)
        if not chunk.rolled and not chunk.is_last:
            # A rate change (fps=) may emit a frame at the chunk's end time, and tpad's padding
            # follows it: both belong to the next chunk, or to the last one.
            command.end_seconds = float((chunk.end_pts - base) * chunk.time_base * timeline.stretch)


def pack_picks(vf: str, command: ChunkCommand, chunk: ChunkRef, mask: bytes, rate: Fraction) -> None:
    """A chunk of ``select=<by n>,...,setpts=N/FRAME_RATE/TB``: n counts from the chunk's
    first decoded frame's number, N from the frames picked before it, and the chunk keeps the
    packed frames of its own source frames (:mod:`~sprocket_cli.plan.framepicks`)."""
    first, stop = chunk.first_index, chunk.first_index + chunk.frame_count
    if not any(mask[first:stop]):
        command.skip = True  # nothing of the chunk is picked
        return
    before, start, end = span(mask, first, stop, rate)
    lead = sum(mask[: chunk.lead_index])
    uses = parse_graph(vf)
    command.add_filter(",".join(number_frames(u.text, lead if packs(u) else chunk.lead_index) for u in uses))
    command.keep = (start, None if chunk.is_last else end)
    command.start_ticks = round(before / rate * chunk.timescale * command.timescale_factor)


def anchor_grid(chunk: ChunkRef, rate: Fraction) -> str:
    """Filters that give the chunk's first decoded frame twice, the first copy on the latest
    slot of the 1/``rate`` grid before it that falls on a whole tick: a filter whose grid
    counts from the first frame it sees (framerate) then counts from there, on the whole
    file's grid, as a whole-file run does from the video's first frame at 0 ('null': the
    chunk starts the video)."""
    lead = chunk.start_pts if chunk.lead_pts is None else chunk.lead_pts
    period = grid_period(rate, chunk.time_base)
    slot = math.floor(lead * chunk.time_base * rate) // period * period
    ticks = int(slot / rate / chunk.time_base)
    if ticks == lead:
        return "null"  # it starts on the grid itself
    # interleave puts its output in microseconds: settb gives the frames their ticks back.
    tb = chunk.time_base
    return (
        f"split[sprocket_first][sprocket_rest];[sprocket_first]trim=end_frame=1,setpts={ticks}[sprocket_slot];"
        f"[sprocket_slot][sprocket_rest]interleave,settb={tb.numerator}/{tb.denominator}"
    )


def place_on_grid(command: ChunkCommand, chunk: ChunkRef, rate: Fraction, base: int = 0) -> None:
    """Put the segment where its first frame sits on fps's grid, not where the chunk starts.

    fps gives the slot nearest each input frame (k/rate seconds from 0), so the chunk's first
    output frame is at slot round(start x rate); the track's ticks must hold 1/rate exactly.
    """
    ticks = math.lcm(chunk.timescale, rate.numerator)
    command.timescale_factor = ticks // chunk.timescale
    slot = math.floor((chunk.start_pts - base) * chunk.time_base * rate + Fraction(1, 2))
    command.start_ticks = round((slot / rate - (chunk.origin_pts - base) * chunk.time_base) * ticks)
