"""Can a filter chain run in parallel chunks and still give plain ffmpeg's frames?

:func:`analyze` classifies every filter of a ``-vf`` chain (from :mod:`filtertable` and what
the filter's options say) and decides, before any work starts, how the job runs: split into
chunks, each decoding the frames its windowed filters need on either side; or whole, on one
worker, with one line naming the filter and why. Never a silent difference.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction

from sprocket_cli.plan.cuts import Cut, restarts
from sprocket_cli.plan.filtergraph import FilterUse, parse_graph
from sprocket_cli.plan.filteroptions import filter_help
from sprocket_cli.plan.filtertable import (
    ANCHORED_RATES,
    DEINTERLACERS,
    DROPS_LEADING,
    LONGEST_WINDOW,
    PER_FRAME,
    RANDOM_STATE,
    TIMING,
    WHOLE_STREAM,
    WINDOWED,
    FilterClass,
)
from sprocket_cli.plan.framefades import LONGEST, frame_fade
from sprocket_cli.plan.framenumbers import renumberable
from sprocket_cli.plan.framepicks import packs, picks_by_number

#: Expression variables that count frames (``n`` in select, geq, eq, hue, overlay, enable=;
#: ``%{n}`` and ``%{frame_num}`` in drawtext text).
_FRAME_NUMBER = re.compile(r"(?<![\w.])(n|N|frame_num|selected_n|prev_selected_n)(?![\w(])")
_RANDOM = re.compile(r"(?<![\w.])random\s*\(")
#: Deinterlacer modes that send a frame per field (yadif 1 and 3; bwdif, w3fdif and estdif
#: by default, which ``-h`` prints by name).
_PER_FIELD = {"1", "3", "send_field", "send_field_nospatial", "field"}
#: Flags options (noise's allf, c0f, ...) asking for temporal noise.
_TEMPORAL_FLAGS = re.compile(r"(?:^|\+)t(?:$|\+)")


@dataclass(frozen=True)
class Finding:
    """One filter of the chain, classified."""

    text: str
    """The filter as written."""
    kind: FilterClass
    before: int = 0
    """Frames before each output frame it reads."""
    after: int = 0
    """Frames after it."""
    drops: int = 0
    """Frames at the very start of the stream it gives no output for."""
    renumber: bool = False
    """Its frame numbers can count from each chunk's first frame (:mod:`framenumbers`)."""
    rate: Fraction | None = None
    """The frame rate a rate filter puts its frames on (a fixed grid from time 0)."""
    fields: bool = False
    """A deinterlacer sending a frame per field: twice the frames, at half-frame times."""
    scale: Fraction | None = None
    """How much a retime stretches time (``setpts=2*PTS``: 2)."""
    anchored: bool = False
    """A rate filter whose grid counts from the first frame it is given (framerate,
    minterpolate): each chunk gives it a copy of its first frame on the grid point before, so
    that its grid is the whole file's."""
    picks: bool = False
    """A ``select`` of frames by their number alone (:mod:`framepicks`)."""
    packs: bool = False
    """``setpts=N/FRAME_RATE/TB``: the frames it is given, one frame duration apart."""
    resync: bool = False
    """A retime whose frames ffmpeg puts back on the frame-rate grid, dropping those that land
    on a slot already taken: chunks keep their frames by output time (:attr:`ChainPlan.resync`)."""
    why: str = ""
    """What makes it this class, when its options decided it."""


@dataclass(frozen=True)
class ChainPlan:
    """How a chain runs: split (with pre- and post-roll) or on one worker."""

    findings: tuple[Finding, ...]
    preroll: int = 0
    """Frames each chunk decodes before its first and drops."""
    postroll: int = 0
    """Frames each chunk decodes after its last and drops."""
    drops: int = 0
    """Frames at the start of the video the chain gives no output for: the output's timeline
    starts at the first frame it does give, as plain ffmpeg's does."""
    whole: Finding | None = None
    """The first filter that keeps the chain from being split; None: it splits."""
    cut: Cut | None = None
    """A trim restarting the kept frames' times, which the chunk plan does instead."""
    rest: str = ""
    """The chain each chunk runs: the chain without its cut's trim."""
    picks: str = ""
    """A select by frame number whose picks a later setpts packs: the select as written, for
    the planner to ask ffmpeg which frames it picks (:mod:`framepicks`); its windows' rolls
    count picked frames until then."""

    @property
    def rate(self) -> Fraction | None:
        """The grid the chain's frames end on (its fps filter's rate); None: the source's."""
        return next((f.rate for f in self.findings if f.rate is not None), None) if self.split else None

    @property
    def scale(self) -> Fraction:
        """How much the chain stretches time (1: not at all)."""
        return next((f.scale for f in self.findings if f.scale is not None), Fraction(1))

    @property
    def anchor(self) -> Fraction | None:
        """The rate of a filter whose grid counts from its first frame (:attr:`Finding.anchored`)."""
        return next((f.rate for f in self.findings if f.anchored), None) if self.split else None

    @property
    def resync(self) -> bool:
        """Whether the chain speeds up or stretches time by a fraction: ffmpeg's encoder puts
        its frames on the 1/frame-rate grid, dropping a frame whose slot is taken, by a rule
        that looks at the frames before. Each chunk decodes enough frames before its own for
        that rule to settle, runs ffmpeg's own rule (an encoder looped back into a decoder)
        and keeps the frames whose output times fall in its span."""
        return self.split and any(f.resync for f in self.findings)

    @property
    def timescale_factor(self) -> int:
        """How many times finer than the source's the output's ticks must be to hold every
        frame time exactly (a frame per field halves the step); a resynced chain's are set
        from the frame rate when the job is planned."""
        if self.resync or self.picks or self.anchor is not None:
            return 1
        return (2 if self.split and any(f.fields for f in self.findings) else 1) * self.scale.denominator

    @property
    def renumbered(self) -> bool:
        """Whether chunks rewrite frame numbers to count from their first frame."""
        return self.split and any(f.renumber for f in self.findings)

    @property
    def split(self) -> bool:
        return self.whole is None

    @property
    def reason(self) -> str:
        """One line: which filter needs the whole video, and why ('' when it splits)."""
        if self.whole is None:
            return ""
        return f"{self.whole.text!r} is {self.whole.kind.value}: {self.whole.why}"


def classify(use: FilterUse) -> Finding:
    """``use``'s class, from the table and its options."""
    name = use.name
    values = filter_help(name).resolve(use.positional, use.named) if _needs_options(name) else {}
    everything = " ".join([*use.positional, *(v for _, v in use.named)])
    if name in WHOLE_STREAM:
        return Finding(use.text, FilterClass.WHOLE, why=WHOLE_STREAM[name])
    if _RANDOM.search(everything):
        return Finding(use.text, FilterClass.STATE, why="random() continues from frame to frame")
    if picks_by_number(use):
        return Finding(use.text, FilterClass.FRAME_NUMBER, why="it picks frames by number (n)", picks=True)
    if packs(use):
        why = "it numbers the frames it is given (N)"
        return Finding(use.text, FilterClass.FRAME_NUMBER, why=why, packs=True)
    if _FRAME_NUMBER.search(everything):
        shiftable = name in PER_FRAME and renumberable(use)
        why = "its expressions count frames (n)"
        return Finding(use.text, FilterClass.FRAME_NUMBER, renumber=shiftable, why=why)
    if name == "fps":
        rate = _grid_rate(values)
        if rate is None:
            return Finding(use.text, FilterClass.TIMING, why="its rate or rounding is not a plain grid")
        return Finding(use.text, FilterClass.RATE, rate=rate)
    if name in ANCHORED_RATES:
        if (rate := _grid_rate(values)) is None:
            return Finding(use.text, FilterClass.TIMING, why="its rate is not a plain number")
        before, after = ANCHORED_RATES[name]
        return Finding(use.text, FilterClass.RATE, before, after, rate=rate, anchored=True)
    if name == "setpts" and (scale := _stretch(use)) is not None:
        if scale >= 1 and scale.denominator == 1:
            return Finding(use.text, FilterClass.RETIME, scale=scale)
        if scale >= FASTEST_RESYNC:
            before, after = resync_rolls(scale)
            return Finding(use.text, FilterClass.RETIME, before, after, scale=scale, resync=True)
        # Faster than that, which frames ffmpeg drops keeps a phase set by the first frame.
        why = f"it speeds up more than {1 / FASTEST_RESYNC}x: which frames ffmpeg drops depends on the first"
        return Finding(use.text, FilterClass.TIMING, why=why)
    if name == "tpad" and not any(float(values.get(k, "0") or 0) for k in ("start", "start_duration")):
        return Finding(use.text, FilterClass.PAD)
    if name in TIMING:
        return Finding(use.text, FilterClass.TIMING, why="it changes which frames exist or when")
    if (placed := frame_fade(use)) is not None:
        if renumberable(use):  # each chunk decodes the fade's length before it (framefades)
            return Finding(use.text, FilterClass.FRAME_NUMBER, before=placed[2] + 1, renumber=True)
        why = f"it fades by frame count over more than {LONGEST} frames (give st= and d=)"
        return Finding(use.text, FilterClass.FRAME_NUMBER, why=why)
    if name in RANDOM_STATE:
        if _random_stream(name, use, values):
            return Finding(use.text, FilterClass.STATE, why=RANDOM_STATE[name])
        return Finding(use.text, FilterClass.FRAME)
    if name in DEINTERLACERS:
        per_field = values.get("mode", "") in _PER_FIELD
        return Finding(use.text, FilterClass.WINDOW, 1, 1, fields=per_field)
    if name in WINDOWED:
        before, after = WINDOWED[name](values)
        if max(before, after) > LONGEST_WINDOW:
            why = f"it reads more than {LONGEST_WINDOW} frames around each frame"
            return Finding(use.text, FilterClass.STATE, why=why)
        return Finding(use.text, FilterClass.WINDOW, before, after, DROPS_LEADING.get(name, 0))
    if name in PER_FRAME:
        return Finding(use.text, FilterClass.FRAME)
    return Finding(
        use.text, FilterClass.UNKNOWN, why="sprocket has not classified it yet, so it runs on the whole video"
    )


#: The largest speed-up whose frame dropping settles within a few frames of any start.
#: Measured: at 0.25 (4x) a chunk's frames equal plain ffmpeg's from 16 frames of pre-roll
#: on; at 0.2 they never do (the slots ffmpeg picks keep the phase of the first frame).
FASTEST_RESYNC = Fraction(1, 4)


def resync_rolls(scale: Fraction) -> tuple[int, int]:
    """Frames a chunk decodes before and after its own for a retime by ``scale``.

    Before: ffmpeg's drop rule compares each frame with the slot after the last one kept, so
    a chunk needs several output slots (4/scale source frames) of history, and more near 1,
    where a slot is taken only every 1/(1 - scale) frames. After: the frames that can still
    take the chunk's last slot. Both measured exact over 0.25 to 2.5 (tests/e2e/test_fidelity_retime.py).
    """
    if scale >= 1:
        return 4, math.ceil(1 / scale) + 1
    return max(8, math.ceil(4 / scale), math.ceil(4 / (1 - scale))), math.ceil(1 / scale) + 1


def _one_to_one(f: Finding) -> bool:
    """Whether ``f`` gives one frame for each frame it reads, from the first on."""
    return f.drops == 0 and (f.kind in (FilterClass.FRAME, FilterClass.WINDOW) or f.renumber)


def _needs_options(name: str) -> bool:
    return (
        name in WINDOWED
        or name in RANDOM_STATE
        or name in DEINTERLACERS
        or name in ANCHORED_RATES
        or name in ("fade", "fps", "tpad")
    )


_STRETCH = re.compile(r"^\s*(?:([\d.]+)\s*\*\s*PTS|PTS\s*\*\s*([\d.]+)|PTS\s*/\s*([\d.]+)|PTS)\s*$")


def _stretch(use: FilterUse) -> Fraction | None:
    """k for ``setpts=k*PTS`` (``PTS*k``, ``PTS/k``: 1/k); None for any other expression."""
    expr = dict(use.named).get("expr", use.positional[0] if use.positional else "PTS")
    m = _STRETCH.match(expr)
    if m is None:
        return None
    try:
        if m[3] is not None:
            return 1 / Fraction(m[3])
        return Fraction(m[1] or m[2] or "1")
    except (ValueError, ZeroDivisionError):
        return None


#: ffmpeg's frame rate names (libavutil/parseutils.c) that fps= takes.
_RATE_NAMES = {"ntsc": "30000/1001", "pal": "25", "film": "24", "ntsc_film": "24000/1001"}


def _grid_rate(values: dict[str, str]) -> Fraction | None:
    """fps's rate, when its frames sit on the plain grid k/rate (nearest rounding, from 0)."""
    if values.get("round", "near") != "near" or values.get("start_time", "DBL_MAX") != "DBL_MAX":
        return None
    text = _RATE_NAMES.get(values.get("fps", ""), values.get("fps", ""))
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _random_stream(name: str, use: FilterUse, values: dict[str, str]) -> bool:
    """Whether ``use`` asks for random numbers that continue from frame to frame."""
    if name == "vignette":
        return values.get("dither", "true") not in ("0", "false")
    return any(key.endswith(("f", "flags")) and _TEMPORAL_FLAGS.search(v) for key, v in use.named)


def analyze(vf: str) -> ChainPlan:
    """How ``vf`` runs in chunks: every filter classified, the rolls summed, or the first
    filter that needs the whole video."""
    uses = parse_graph(vf)
    findings = tuple(classify(use) for use in uses)
    cut_at = _cut(vf, uses, findings)
    if cut_at is None:
        return _plan(findings, findings, vf)
    trim = uses[cut_at[0]]
    cut = Cut(trim.text, tuple(filter_help("trim").resolve(trim.positional, trim.named).items()))
    # Each chunk keeps the restart, made to count from the cut's first frame (cuts.restart_at).
    rest = ",".join(u.text for k, u in enumerate(uses) if k != cut_at[0])
    kept = tuple(f for k, f in enumerate(findings) if k not in cut_at)
    return replace(_plan(findings, kept, rest), cut=cut)


def _cut(vf: str, uses: list[FilterUse], findings: tuple[Finding, ...]) -> tuple[int, int] | None:
    """Where a chain of one line opens with ``trim`` (after per-frame filters only) and restarts
    the times right after it (``setpts=PTS-STARTPTS``, per-frame filters between)."""
    if ";" in vf or "[" in vf:
        return None  # a graph with branches: not this shape
    moving = [k for k, f in enumerate(findings) if f.kind is not FilterClass.FRAME]
    if len(moving) < 2 or uses[moving[0]].name != "trim" or not restarts(uses[moving[1]]):
        return None
    return moving[0], moving[1]


def _packing(findings: tuple[Finding, ...], rest: str) -> ChainPlan | None:
    """The plan of ``select=<n only>,...,setpts=N/FRAME_RATE/TB,...`` with per-frame filters
    around the select and per-frame or windowed ones after the setpts; None: not that shape."""
    picks = [k for k, f in enumerate(findings) if f.picks]
    packers = [k for k, f in enumerate(findings) if f.packs]
    if len(picks) != 1 or len(packers) != 1 or picks[0] > packers[0]:
        return None
    first, then = findings[: packers[0]], findings[packers[0] + 1 :]
    if any(f.kind is not FilterClass.FRAME for f in first if not f.picks):
        return None
    if any(not (_one_to_one(f) and not f.renumber and not f.fields) for f in then):
        return None
    before, after = sum(f.before for f in then), sum(f.after for f in then)
    return ChainPlan(findings, before, after, rest=rest, picks=findings[picks[0]].text)


def _plan(findings: tuple[Finding, ...], kept: tuple[Finding, ...], rest: str) -> ChainPlan:
    """The plan of a chain whose ``kept`` findings run in every chunk (all of them, or all but
    a cut)."""
    if len(kept) == len(findings) and (packed := _packing(findings, rest)) is not None:
        return packed
    preroll = sum(f.before for f in kept)
    postroll = sum(f.after for f in kept)
    for i, f in enumerate(kept):
        if f.kind in (FilterClass.FRAME, FilterClass.WINDOW):
            continue
        if f.renumber and len(kept) == len(findings) and all(_one_to_one(b) for b in kept[:i]):
            continue  # each chunk counts from its own first frame's number
        if f.kind is FilterClass.PAD:
            continue  # chunks drop what falls past their end; the last keeps the padding
        alone = all(g.kind is FilterClass.FRAME for g in kept if g is not f)
        if f.resync and alone:
            continue  # its own rolls; kept by output time (ChainPlan.resync)
        if f.anchored and alone and len(kept) == len(findings) and not re.search(r"[;\[]", rest):
            continue  # its own rolls, on a chain of one line (ChainPlan.anchor)
        timing = [g for g in kept if g.kind in (FilterClass.RATE, FilterClass.RETIME)]
        if (
            f.kind in (FilterClass.RATE, FilterClass.RETIME)
            and not (preroll or postroll)
            and len(timing) == 1
        ):
            continue
        if f.kind in (FilterClass.RATE, FilterClass.RETIME):
            why = f"a {f.kind.value} beside a windowed filter or another rate change is not split yet"
            f = Finding(f.text, f.kind, why=why)
        return ChainPlan(findings, whole=f)
    return ChainPlan(findings, preroll, postroll, sum(f.drops for f in kept), rest=rest)
