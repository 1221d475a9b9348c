"""Cut a source into chunks for parallel work.

Cuts go on keyframes, as close to the target length as the keyframes allow. Where keyframes are
too sparse for that (one every 10 s, or only the first), a cut goes on an ordinary frame and
the worker decodes from the keyframe before it and throws the pre-roll away; the plan says
which chunks pay that pre-roll and how long it is.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from sprocket_cli.errors import OptionError, UsageError
from sprocket_cli.media.probe import MediaInfo


@dataclass(frozen=True)
class Chunk:
    """One piece of the source: the frames with ``start_pts <= pts < end_pts``."""

    index: int
    start_pts: int
    end_pts: int
    seek_pts: int
    """The keyframe at or before ``start_pts`` that decoding starts from."""
    frame_count: int
    time_base: Fraction
    """Seconds per pts tick."""
    is_last: bool
    origin_pts: int = 0
    """The source's first frame: output timelines start at zero there."""
    lead_pts: int | None = None
    """The first frame decoded for the filters (a windowed filter's pre-roll); None: the start."""
    tail_pts: int | None = None
    """Where decoding for the filters ends (a windowed filter's post-roll); None: the end."""
    lead_index: int = 0
    """The source frame number of the first frame the filters see (frame-number expressions
    count from it)."""
    first_index: int = 0
    """The source frame number of the chunk's own first frame."""

    @property
    def decode_end_pts(self) -> int:
        """Where the frames decoded for the chunk end: its end, or its post-roll's."""
        return self.end_pts if self.tail_pts is None else self.tail_pts

    @property
    def start(self) -> float:
        """Seconds."""
        return float(self.start_pts * self.time_base)

    @property
    def end(self) -> float:
        """Seconds."""
        return float(self.end_pts * self.time_base)

    @property
    def duration(self) -> float:
        """Seconds."""
        return float((self.end_pts - self.start_pts) * self.time_base)

    @property
    def preroll(self) -> float:
        """Seconds decoded and discarded before the first frame of the chunk (0 on a keyframe)."""
        return float((self.start_pts - self.seek_pts) * self.time_base)


@dataclass(frozen=True)
class ChunkPlan:
    chunks: tuple[Chunk, ...]
    target_seconds: float

    @property
    def preroll_seconds(self) -> float:
        """Total seconds of video decoded only to be thrown away."""
        return sum(c.preroll for c in self.chunks)

    @property
    def max_duration(self) -> float:
        return max(c.duration for c in self.chunks)


def plan_chunks(
    info: MediaInfo,
    target_seconds: float,
    first_seconds: float | None = None,
    end_pts: int | None = None,
    roll: tuple[int, int] = (0, 0),
    drops: int = 0,
    start_pts: int | None = None,
    workers: int | None = None,
) -> ChunkPlan:
    """Cut ``info``'s video into chunks of about ``target_seconds``, on keyframes where possible.

    With ``first_seconds``, chunk lengths ramp up from it, doubling to ``target_seconds``:
    a short first chunk makes the first segment playable soon, long later chunks spend less
    on per-process start-up. They ramp down again at the end (each at most half of what is
    left), so that workers finish together instead of one running the last full-length chunk
    alone: measured with bench/blend_vs_ffmpeg.py, that lone last chunk cost 6% of wall time
    on 2 workers. ``end_pts`` ends the output elsewhere than the video's end:
    earlier (the frames from there on are left out), or later (the last chunk runs on to it,
    for a stage that makes frames past the end, such as blend holding the last frame).
    ``start_pts`` starts it later (a cut): the output's timeline starts there, and no chunk
    decodes a frame before it.

    With ``workers`` (this machine's processes, where a task costs little), the end is planned
    for that many instead: once the rest fits in one chunk per worker, it is split so that every
    worker, each free at its own time as the chunks before were handed out, ends at the same
    moment (:func:`_balanced_tail`), rather than halving on towards the end.
    """
    if not target_seconds > 0:
        raise OptionError("chunk_seconds", f"must be positive, not {target_seconds}")
    if first_seconds is not None and not first_seconds > 0:
        raise OptionError("first_chunk_seconds", f"must be positive, not {first_seconds}")
    full = max(1, round(Fraction(target_seconds) / info.time_base))
    length = (
        full if first_seconds is None else min(full, max(1, round(Fraction(first_seconds) / info.time_base)))
    )
    end_pts = info.end_pts if end_pts is None else end_pts
    frames = info.frame_pts[: bisect.bisect_left(info.frame_pts, end_pts)]
    if not frames:
        raise UsageError(f"{info.source}: no frame before the output's end")
    keys = info.keyframe_pts
    before, after = roll
    # With a pre-roll, cut that many frames after a keyframe: the chunk's pre-roll then starts
    # on the keyframe, and nothing before it is decoded only to be thrown away.
    indexes = {p: i for i, p in enumerate(frames)} if before else {}
    cut_points = (
        tuple(frames[indexes[k] + before] for k in keys if k in indexes and indexes[k] + before < len(frames))
        if before
        else keys
    )
    shortest = length
    # Frames the chain gives no output for are the first chunk's pre-roll: its own frames, and
    # so the output, start after them, as plain ffmpeg's (and its audio does not move).
    opening = 0 if start_pts is None else bisect.bisect_left(frames, start_pts)
    if opening >= len(frames):
        raise UsageError(f"{info.source}: no frame in the part of the video the output keeps")
    cuts = [frames[min(opening + drops, len(frames) - 1)]]
    # When each worker is free, in pts ticks of work, as the chunks so far are handed out in
    # order to whichever is free first (as the coordinator does).
    free = [0] * workers if workers else None
    while True:
        start = cuts[-1]
        if free is not None:
            ending = _balanced_tail(free, start, end_pts, min(full, length), frames, cut_points)
            if ending is not None:
                cuts.extend(ending)
                break
        target = length if first_seconds is None else min(length, max(shortest, (end_pts - start) // 2))
        length = min(full, length * 2)
        wanted = start + target
        if wanted >= end_pts - target // 2:
            break  # the rest is short enough to join the last chunk
        cut = _nearest_after(cut_points, start, wanted)
        if cut is None or abs(cut - wanted) > target // 2:
            cut = _nearest_after(frames, start, wanted)  # sparse keyframes: pay a pre-roll
        if cut is None or end_pts - cut < target // 2:
            break  # no cut, or one that would leave a sliver: the rest joins this chunk
        cuts.append(cut)
        if free is not None:
            free[free.index(min(free))] += cut - start
    bounds = [*cuts, end_pts]
    chunks = []
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        first, stop = bisect.bisect_left(frames, start), bisect.bisect_left(frames, end)
        back = max(before, drops) if i == 0 else before
        lead_index = max(opening, first - back)
        lead = frames[lead_index]
        tail = frames[stop + after] if stop + after < len(frames) else end_pts
        # A cut's last chunk stops decoding where the cut ends, not at the video's end.
        cut_short = start_pts is not None and i == len(bounds) - 2 and end_pts < info.end_pts
        seek = keys[max(0, bisect.bisect_right(keys, lead) - 1)]
        count = stop - first
        chunks.append(
            Chunk(
                index=i,
                start_pts=start,
                end_pts=end,
                seek_pts=min(seek, lead),
                frame_count=count,
                time_base=info.time_base,
                is_last=i == len(bounds) - 2,
                origin_pts=frames[opening],
                lead_pts=lead if lead != start else None,
                lead_index=lead_index,
                first_index=first,
                tail_pts=end_pts if cut_short else tail if tail != end and i < len(bounds) - 2 else None,
            )
        )
    return ChunkPlan(chunks=tuple(chunks), target_seconds=target_seconds)


def whole_seconds(info: MediaInfo, end_pts: int | None = None) -> float:
    """A chunk length that makes :func:`plan_chunks` cut ``info`` into one chunk."""
    end = info.end_pts if end_pts is None else max(end_pts, info.end_pts)
    return float((end - info.frame_pts[0]) * info.time_base) * 2 + 1


def _balanced_tail(
    free: list[int], start: int, end: int, cap: int, frames: tuple[int, ...], cut_points: tuple[int, ...]
) -> list[int] | None:
    """Cuts in ``start``..``end`` giving each worker (free at ``free`` ticks) one last chunk,
    sized so that all of them end together, the largest first (it goes to the worker free
    first); None while that largest would be longer than ``cap``. A worker that would get less
    than a tenth of ``cap`` gets none (a sliver costs a task's start for little)."""
    busy = sorted(free)
    least = cap / 10
    while busy:
        finish = (sum(busy) + end - start) / len(busy)
        if finish - busy[-1] >= least or len(busy) == 1:
            break
        busy.pop()
    if finish - busy[0] > cap:
        return None
    cuts: list[int] = []
    at, goal = start, float(start)
    for was in busy[:-1]:
        piece = finish - was
        goal += piece  # each cut aims at where the pieces so far end, so errors do not add up
        wanted = round(goal)
        cut = _nearest_after(cut_points, at, wanted)
        # A keyframe only when it is near: every tick off is a tick one worker runs alone,
        # while a pre-roll's decode costs a fraction of a filtered, encoded frame.
        if cut is None or abs(cut - wanted) > piece / 20:
            cut = _nearest_after(frames, at, wanted)
        if cut is None or cut >= end:
            break
        cuts.append(cut)
        at = cut
    return cuts


def _nearest_after(points: tuple[int, ...], after: int, wanted: int) -> int | None:
    """The point nearest to ``wanted`` among those strictly after ``after``."""
    i = bisect.bisect_left(points, wanted)
    candidates = [p for p in points[max(0, i - 1) : i + 1] if p > after]
    return min(candidates, key=lambda p: abs(p - wanted)) if candidates else None


def align_chunks(plan: ChunkPlan, first: MediaInfo, other: MediaInfo, offset: Fraction) -> ChunkPlan:
    """``other`` cut on ``plan``'s spans of presentation time (``plan`` cuts ``first``).

    ``other``'s first frame is at ``offset`` seconds on ``first``'s timeline (times count from
    each video's first frame). Its chunk i holds every frame of ``other`` on screen while
    ``first``'s chunk i is decoded (its own frames and those windowed filters read around
    them): from the last frame shown at or before the span's start to the last
    one starting before its end, plus one frame either side as a margin, since the joining
    stage pairs frames by timestamp and ignores the rest. Where ``other`` shows nowhere in
    the span, its chunk is the nearest frame, so that every chunk can be decoded.
    """
    frames, keys = other.frame_pts, other.keyframe_pts
    # Seconds to add to a time on first's clock (pts * time base) to get other's clock.
    shift = frames[0] * other.time_base - offset - first.frame_pts[0] * first.time_base
    chunks = []
    for chunk in plan.chunks:
        lead = chunk.start_pts if chunk.lead_pts is None else chunk.lead_pts
        start = lead * first.time_base + shift
        end = chunk.decode_end_pts * first.time_base + shift
        shown = bisect.bisect_right(frames, math.floor(start / other.time_base)) - 1  # last at or before
        lo = min(max(0, shown - 1), len(frames) - 1)
        hi = min(len(frames), bisect.bisect_left(frames, math.ceil(end / other.time_base)) + 1)
        hi = max(hi, lo + 1)
        chunks.append(
            Chunk(
                index=chunk.index,
                start_pts=frames[lo],
                end_pts=frames[hi] if hi < len(frames) else other.end_pts,
                seek_pts=min(keys[max(0, bisect.bisect_right(keys, frames[lo]) - 1)], frames[lo]),
                frame_count=hi - lo,
                time_base=other.time_base,
                is_last=hi >= len(frames),
                origin_pts=frames[0],
                lead_index=lo,  # frame numbers of filters on this input count from here
                first_index=lo,
            )
        )
    return ChunkPlan(chunks=tuple(chunks), target_seconds=plan.target_seconds)
