"""Where a split chain's frames land on the output, given the source: decided once, when the
job is planned, for the chains whose placement depends on the video (a cut's frames, a
retime's frame-rate grid, the frames a select picks). A chain that cannot be placed on this
video runs on one worker, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import replace

from sprocket_cli.errors import BadFilterError
from sprocket_cli.media.command import grid_period, timescale_for
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.plan.filtermodel import ChainPlan, Finding
from sprocket_cli.plan.filtertable import FilterClass
from sprocket_cli.plan.framepicks import picked, reach


def place_cut(chain: ChainPlan, info: MediaInfo) -> tuple[ChainPlan, tuple[int, int] | None]:
    """``chain`` over ``info``, and the (first, end) pts of the frames its cut keeps (None: no
    cut). A cut over a video that does not start at zero runs on one worker: ffmpeg times
    trim from the file's start, which sprocket's chunks do not see."""
    if chain.cut is None:
        return chain, None
    if not info.frame_pts or info.frame_pts[0] != 0:
        why = "the video's first frame is not at time 0, where trim's times count from"
        return replace(chain, whole=Finding(chain.cut.text, FilterClass.TIMING, why=why)), None
    first, stop = chain.cut.keeps(info.frame_pts, info.time_base)
    if first >= stop:
        raise BadFilterError(f"{chain.cut.text!r} keeps no frame of {info.source}")
    end = info.frame_pts[stop] if stop < len(info.frame_pts) else info.end_pts
    return chain, (info.frame_pts[first], end)


def place_on_frame_grid(chain: ChainPlan, info: MediaInfo) -> tuple[ChainPlan, int]:
    """``chain`` over ``info`` and how many times finer than the source's the output's ticks
    must be. A resynced or packed chain's frames land on ffmpeg's 1/frame-rate grid, counted
    from the first frame: it splits only over a video of a plain frame rate (a resynced one
    also only where the video starts at 0)."""
    if not (chain.resync or chain.picks or chain.anchor):
        return chain, chain.timescale_factor
    placed = next(f for f in chain.findings if f.resync or f.packs or f.anchored)
    rate = chain.anchor or info.fps
    starts_at_0 = bool(info.frame_pts) and info.frame_pts[0] == 0
    if (chain.resync or chain.anchor) and not starts_at_0:
        why = "the video's first frame is not at time 0, where ffmpeg's frame-rate grid counts from"
    elif chain.anchor and grid_period(rate, info.time_base) > LONGEST_GRID_PERIOD:
        why = f"its grid (1/{rate} s) seldom falls on the video's time base ({info.time_base})"
    elif rate.denominator > 1001 or rate.numerator > 240000:
        why = f"the video's frame rate varies (average {float(rate):.3f}): ffmpeg's grid is not known"
    else:
        timescale = timescale_for(info.time_base)
        return chain, math.lcm(timescale, rate.numerator) // timescale
    return replace(chain, whole=Finding(placed.text, FilterClass.TIMING, why=why)), 1


#: The most grid slots between two that fall on the video's time base: a chunk hands an
#: anchored rate filter its first frame at such a slot, up to this many slots early.
LONGEST_GRID_PERIOD = 64


def place_picks(chain: ChainPlan, info: MediaInfo) -> tuple[ChainPlan, bytes | None]:
    """``chain`` over ``info`` and which frames its select picks (None: it picks none by
    number); the rolls its windows need, in picked frames, become source frames."""
    if not chain.split or not chain.picks:
        return chain, None
    mask = picked(chain.picks, info.frame_count)
    if not any(mask):
        raise BadFilterError(f"{chain.picks!r} keeps no frame of {info.source}")
    before, after = reach(mask, chain.preroll, chain.postroll)
    return replace(chain, preroll=before, postroll=after), mask
