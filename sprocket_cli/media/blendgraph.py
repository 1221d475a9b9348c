"""The ffmpeg filter graph that blends a second video (b) onto a chunk of the main one (a).

``sprocket blend a.mp4 b.mp4 --mode overlay --opacity 0.5`` cuts a on its keyframes; every chunk
is one ffmpeg process that reads a's range and the matching range of b. This module decides
where to seek b and builds the ``-filter_complex`` that pairs the two streams.

Pairing rule (presentation time, not frame index): the output frame of a at time ``t`` combines
the b frame on screen at ``t - offset`` -- the latest b frame whose time is at or before it --
and shows a alone where b has no frame (before b's first frame, from the end of b's last frame).
Times are relative to each video's first frame, so "offset" is where b's first frame lands on
a's timeline; a negative offset skips into b.

How the graph makes that exact (every frame, whatever the two rates and time bases are):

* Both streams move to one fine time base ``1/D``, ``D`` = lcm of the two time-base
  denominators, in which every a timestamp and every b timestamp is an integer (``settb`` is
  then lossless). b's timestamps are shifted onto a's timeline by ``K = ceil(shift * D)``.
  Rounding the shift *up* keeps every comparison with a's (integer) ticks exact:
  ``ceil(x) <= t`` iff ``x <= t`` for an integer ``t``; and because ``1/D`` is no coarser than
  b's own tick, two b frames never land on the same tick.
* The ``blend``/``overlay`` framesync (a = main, b = secondary) emits one frame per *main*
  frame with main's timestamp and the secondary frame whose timestamp is the latest one
  ``<=`` it; before b's first frame the secondary is absent and the filter passes a through.
  ``eof_action=pass`` is required: with the default ``repeat``, the secondary keeps a sync
  level, so once a ends every further b frame emits an extra output frame (a's last frame
  repeated) -- the output would be longer than a.
* With ``pass`` the framesync drops b one tick after its last frame (it extrapolates EOF as
  ``pts + 1``), not at the end of that frame's display. So b's last frame is cloned once
  (``tpad``) and the clone is moved to one tick before b's end; the clone is recognised as "the
  frame after b's last frame", so its original timestamp does not matter.
* Modes are applied in planar RGB (gbrp), where ``screen``/``multiply``/... mean what editors
  mean, then the result goes back to a's pixel format and time base (both lossless for
  timestamps, since every output timestamp is one of a's).

Run the chunk's ffmpeg with ``-copyts`` so both inputs keep their own timestamps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from sprocket_cli.errors import OptionError, UsageError
from sprocket_cli.media.blendoptions import CHROMA, DURATIONS, BlendOptions

if TYPE_CHECKING:
    from sprocket_cli.media.probe import MediaInfo

#: b frames decoded before the one needed at a chunk's start. A demuxer seeks to the keyframe
#: at or before the asked time; this covers those that look the keyframe up by decode time,
#: which runs up to a few frames ahead of display time with B-frames.
SEEK_MARGIN_FRAMES = 3
#: Largest time base denominator ffmpeg can hold (an int in AVRational).
_MAX_DEN = 2**31 - 1


@dataclass(frozen=True)
class VideoShape:
    """What the graph needs to know about one input video (both come from a probe)."""

    width: int
    """Pixels."""
    height: int
    """Pixels."""
    fps: Fraction
    """Frames per second (average); sizes the seek pre-roll and a's held frames."""
    time_base: Fraction
    """Seconds per pts tick of the video stream."""
    start_pts: int
    """The first frame's pts (ticks): the video's time zero."""
    last_pts: int
    """The last frame's pts (ticks)."""
    end_pts: int
    """Just after the last frame: its pts plus its duration (ticks)."""
    pix_fmt: str = "yuv420p"
    sar: Fraction = field(default=Fraction(1))
    """Sample (pixel) aspect ratio."""

    @classmethod
    def of(cls, info: MediaInfo) -> VideoShape:
        return cls(
            width=info.width,
            height=info.height,
            fps=info.fps,
            time_base=info.time_base,
            start_pts=info.frame_pts[0],
            last_pts=info.frame_pts[-1],
            end_pts=info.end_pts,
            pix_fmt=info.pix_fmt,
        )

    @property
    def duration(self) -> Fraction:
        """Seconds from the first frame to the end of the last."""
        return (self.end_pts - self.start_pts) * self.time_base


@dataclass(frozen=True)
class BInput:
    """How a chunk's ffmpeg opens b: ``[*input_args(), "-i", b_path]``."""

    seek: float | None
    """Seconds in b's own timestamps to seek to (the demuxer goes to the keyframe at or before
    it; frames before the one needed are decoded and superseded); None reads from b's start."""

    def input_args(self) -> list[str]:
        if self.seek is None:
            return []
        # Absolute timestamp (not an offset from the file's start), and no accurate-seek trim:
        # the graph needs the pre-roll frames up to the one on screen at the chunk's start.
        return ["-ss", repr(self.seek), "-noaccurate_seek", "-seek_timestamp", "1"]


@dataclass(frozen=True)
class ChunkBlend:
    """b's input and the filter graph for one chunk of a."""

    b: BInput | None
    """None when b shows nowhere in this chunk: do not open it; the graph reads [a] only."""
    filter_complex: str
    """Reads ``[a]`` (and b's stream when ``b`` is set), writes ``[v]``: one frame per frame of
    a in the chunk, with a's timestamps (plus held frames past a's end for ``longest``). To keep
    those timestamps in the file, encode with ``-enc_time_base:v filter``: by default ffmpeg's
    encoder time base is 1/frame rate, which moves a clip starting at 0.1 s to 0.083 s at 24 fps."""


def output_duration(a_duration: float, b_duration: float, offset: float, rule: str) -> float:
    """Seconds of output for ``--duration rule``; the output always starts at a's first frame.

    * ``first``: a's duration.
    * ``shortest``: ends when the first of the two ends, ``min(a, offset + b)``; a UsageError if
      b is over before a starts (nothing would be left).
    * ``longest``: ends when the last of the two ends, ``max(a, offset + b)``. Past a's end,
      **a's last frame is held** (repeated at a's frame rate) and b keeps blending over it --
      the same as ffmpeg's own ``repeatlast`` for a main input, and with no cut to black in
      the middle of b. Those held frames are produced by a's last chunk. b never starts
      before a: a negative offset skips into b instead.
    """
    if rule not in DURATIONS:
        raise OptionError("duration", f"{rule!r} is unknown; valid: {', '.join(DURATIONS)}")
    b_end = offset + b_duration
    if rule == "first":
        return a_duration
    if rule == "longest":
        return max(a_duration, b_end)
    if b_end <= 0:
        raise _nothing_left(b_end)
    return min(a_duration, b_end)


def _nothing_left(b_end: float) -> UsageError:
    return OptionError("duration", f"shortest: b ends {-b_end:g} s before a starts; nothing to blend")


def output_end_pts(a: VideoShape, b: VideoShape, options: BlendOptions) -> int:
    """The exclusive end of the output on a's timeline, in a's ticks (see :func:`output_duration`).

    Beyond ``a.end_pts`` (``longest`` only), a's last chunk holds a's last frame until here.
    """
    if options.duration == "first":
        return a.end_pts
    b_end = options.offset_exact + b.duration  # seconds after a's first frame
    end = a.start_pts + math.ceil(b_end / a.time_base)  # a frame at pts p is before it iff p < end
    if options.duration == "longest":
        return max(a.end_pts, end)
    if b_end <= 0:
        raise _nothing_left(float(b_end))
    return min(a.end_pts, end)


def chunk_blend(
    a: VideoShape,
    b: VideoShape,
    options: BlendOptions,
    start_pts: int,
    end_pts: int,
    *,
    a_label: str = "a",
    b_label: str = "1:v",
    out_label: str = "v",
) -> ChunkBlend:
    """b's seek and the ``-filter_complex`` for a's frames with ``start_pts <= pts < end_pts``.

    ``start_pts``/``end_pts`` are a's ticks (for the last chunk, ``end_pts`` may be
    :func:`output_end_pts`, past a's end for ``longest``: a's last frame is then held up to
    it). ``[a_label]`` carries a's decoded frames with their own timestamps (``-copyts``),
    already trimmed to the chunk or not (the graph trims again, which costs nothing);
    ``[b_label]`` is b's raw stream opened with :attr:`ChunkBlend.b`'s options.
    """
    if not start_pts < end_pts:
        raise ValueError(f"empty chunk [{start_pts}, {end_pts})")
    den = _common_denominator(a.time_base, b.time_base)
    tick = Fraction(1, den)
    # b's shift onto a's timeline in 1/den ticks, rounded up (see the module docstring).
    shift = a.start_pts * a.time_base + options.offset_exact - b.start_pts * b.time_base
    k = math.ceil(shift / tick)
    b_first = _ticks(b.start_pts * b.time_base, tick) + k
    b_last = _ticks(b.last_pts * b.time_base, tick) + k
    b_end = _ticks(b.end_pts * b.time_base, tick) + k
    chunk_start = _ticks(start_pts * a.time_base, tick)
    chunk_end = _ticks(end_pts * a.time_base, tick)

    a_chain = _a_chain(a, start_pts, end_pts)
    a_chain.append(f"settb=1/{den}")
    rgb = "gbrp"
    back = f"settb={_rational(a.time_base)},format={a.pix_fmt},setsar=1"
    if not (b_first < chunk_end and b_end > chunk_start):
        # b shows nowhere in this chunk; keep the same RGB round trip as the chunks where it
        # does, so a's look does not change at a chunk boundary.
        graph = f"[{a_label}]{','.join([*a_chain, f'format={rgb}', back])}[{out_label}]"
        return ChunkBlend(b=None, filter_complex=graph)

    b_chain = [f"settb=1/{den}", f"setpts=PTS+{k}"]
    if options.mode == CHROMA:
        b_chain += _chromakey(options)
    b_chain += _fit_chain(a, b, options)
    if options.mode == CHROMA and options.opacity < 1:
        b_chain.append(f"colorchannelmixer=aa={options.opacity!r}")
    # The framesync drops b one tick after the last frame it saw. Clone b's last frame and put
    # the clone one tick before b's end, so b's last frame shows for its whole duration. The
    # clone is "the frame after the one at b_last"; tpad's own timestamp for it is ignored.
    # (When b goes on past the chunk, a ends first and the clone is never made.)
    b_chain += ["tpad=stop=1:stop_mode=clone", f"setpts='if(eq(PREV_INPTS,{b_last}),{b_end - 1},PTS)'"]

    if options.mode == CHROMA:
        mix = "overlay=eof_action=pass:format=gbrp"
    else:
        # ffmpeg's normal mode weighs the *top* input (a) by the opacity; every other mode
        # moves from a (opacity 0) towards the mode's result (opacity 1). Flip normal so
        # --opacity always means "how much of b's effect".
        opacity = 1 - options.opacity if options.mode == "normal" else options.opacity
        mix = f"blend=all_mode={options.mode}:all_opacity={opacity!r}:eof_action=pass"
        b_chain.append(f"format={rgb}")
    graph = ";".join(
        [
            f"[{a_label}]{','.join([*a_chain, f'format={rgb}'])}[{out_label}_a]",
            f"[{b_label}]{','.join(b_chain)}[{out_label}_b]",
            f"[{out_label}_a][{out_label}_b]{mix},{back}[{out_label}]",
        ]
    )
    seek = _b_seek(b, start_pts * a.time_base - shift)
    return ChunkBlend(b=BInput(seek=seek), filter_complex=graph)


def _a_chain(a: VideoShape, start_pts: int, end_pts: int) -> list[str]:
    """a's filters in its own ticks: hold its last frame past its end (longest), trim to the chunk."""
    chain = []
    if end_pts > a.end_pts:
        # Held frames: the first at a's end, then one per frame interval. A clone is "a frame
        # whose previous output is at or past a's last frame", so tpad's timestamps do not matter.
        step = max(1, round(1 / (a.fps * a.time_base)))
        chain += [
            "tpad=stop=-1:stop_mode=clone",
            f"setpts='if(gte(PREV_OUTPTS,{a.end_pts}),PREV_OUTPTS+{step},"
            f"if(gte(PREV_OUTPTS,{a.last_pts}),{a.end_pts},PTS))'",
        ]
    chain.append(f"trim=start_pts={start_pts}:end_pts={end_pts}")
    return chain


def _chromakey(options: BlendOptions) -> list[str]:
    """Key b (in its own YUV) inside a 2-pixel smeared border that is cut off again afterwards.

    chromakey averages each pixel's 3x3 neighbourhood but leaves out-of-frame neighbours at
    stale values: the key colour itself along the top row (and each slice's first pixel), so a
    gray or black top row of b was keyed out at similarity 0.3 (seen with ffmpeg 9.0). With a
    border copied from the edge (fillborders smear), every real pixel has real neighbours.
    """
    return [
        "pad=iw+4:ih+4:2:2",
        "fillborders=left=2:right=2:top=2:bottom=2:mode=smear",
        f"chromakey=color={options.ffmpeg_key_color}:similarity={options.similarity!r}:blend={options.blend_edge!r}",
        "crop=iw-4:ih-4:2:2",
    ]


def _fit_chain(a: VideoShape, b: VideoShape, options: BlendOptions) -> list[str]:
    """b to a's width x height with square pixels, in RGB (with alpha for chroma)."""
    w, h = a.width, a.height
    rgb = "gbrap" if options.mode == CHROMA else "gbrp"
    chain = []
    if b.sar != 1:
        chain.append("scale=trunc(iw*sar/2)*2:ih,setsar=1")  # square pixels before fitting
    if b.width * b.sar == w and b.height == h:
        chain.append(f"format={rgb}")
    elif options.fit == "stretch":
        chain += [f"scale={w}:{h}", f"format={rgb}"]
    elif options.fit == "crop":
        chain += [f"scale={w}:{h}:force_original_aspect_ratio=increase", f"format={rgb}", f"crop={w}:{h}"]
    else:
        # Bars are black for the blend modes; in chroma mode they are transparent: b has no
        # pixels there, so a shows.
        color = "black@0" if options.mode == CHROMA else "black"
        chain += [
            f"scale={w}:{h}:force_original_aspect_ratio=decrease",
            f"format={rgb}",
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color={color}",
        ]
    chain.append("setsar=1")
    return chain


def _b_seek(b: VideoShape, needed: Fraction) -> float | None:
    """Where to seek b so that decoding reaches its frame at b-time ``needed`` (seconds)."""
    target = needed - Fraction(SEEK_MARGIN_FRAMES) / b.fps
    if target <= b.start_pts * b.time_base:
        return None
    return float(target)


def _common_denominator(a_tb: Fraction, b_tb: Fraction) -> int:
    """``D`` such that both time bases are whole multiples of ``1/D``."""
    den = math.lcm(a_tb.denominator, b_tb.denominator)
    if den > _MAX_DEN:
        # Exotic time bases: fall back to a's ticks. b's timestamps are then rounded to the
        # nearest one by settb, so a b frame within half a tick of an a frame may pair one off,
        # and b's last frame may vanish early (its clone is no longer recognised).
        return a_tb.denominator
    return den


def _ticks(seconds: Fraction, tick: Fraction) -> int:
    """``seconds`` in ``tick`` units (exact for the times this module converts)."""
    return math.ceil(seconds / tick)


def _rational(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
