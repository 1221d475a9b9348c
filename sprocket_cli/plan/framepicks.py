"""Frames picked by number, then packed: ``select='not(mod(n,3))',setpts=N/FRAME_RATE/TB``.

The editor's idiom for dropping frames and closing the gaps. ``select`` with an expression of
the frame number alone picks the same frames whatever a chunk saw before; ``setpts`` then
numbers the picked frames (``N``) and puts them one frame apart. A chunk gives plain ffmpeg's
frames when it knows how many frames were picked before its first: the planner asks ffmpeg
itself which frames the expression picks (over a stand-in stream with the source's frame
count, so ffmpeg's expression evaluator decides, not a copy of it), and every chunk counts
from the picks before it.
"""

from __future__ import annotations

import base64
import re
import zlib
from fractions import Fraction

from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.plan.filtergraph import FilterUse

#: ``setpts`` expressions that put the N-th frame at N frame durations.
PACKS = re.compile(
    r"^\s*N\s*/\s*(?:FRAME_RATE\s*/\s*TB|TB\s*/\s*FRAME_RATE|\(\s*FRAME_RATE\s*\*\s*TB\s*\))\s*$"
)
#: Functions of ffmpeg's expression evaluator that keep no state between frames
#: (``st``/``ld`` store variables, ``random`` continues a stream: not these).
_PURE = frozenset((
    "mod", "not", "eq", "lt", "lte", "gt", "gte", "between", "if", "ifnot", "abs", "min", "max",
    "floor", "ceil", "trunc", "round", "bitand", "bitor", "clip", "sqrt", "squish", "gauss",
    "isnan", "isinf", "hypot", "pow", "exp", "log",
))  # fmt: skip
_WORD = re.compile(r"[A-Za-z_]\w*(\s*\()?")


def _expr(use: FilterUse, option: str) -> str:
    return dict(use.named).get(
        option, dict(use.named).get(option[0], use.positional[0] if use.positional else "")
    )


def picks_by_number(use: FilterUse) -> bool:
    """Whether ``use`` is a ``select`` whose expression reads only the frame number ``n``."""
    if use.name != "select" or any(k not in ("expr", "e") for k, _ in use.named) or len(use.positional) > 1:
        return False  # other options (outputs=2) change what select gives
    words = [(m[0].rstrip("( \t"), m[1] is not None) for m in _WORD.finditer(_expr(use, "expr"))]
    variables = {w for w, call in words if not call}
    return variables == {"n"} and all(w in _PURE for w, call in words if call)


def packs(use: FilterUse) -> bool:
    """Whether ``use`` is ``setpts=N/FRAME_RATE/TB`` (one frame duration per frame)."""
    return use.name == "setpts" and PACKS.match(_expr(use, "expr")) is not None


def picked(select: str, frame_count: int) -> bytes:
    """Which of ``frame_count`` frames ``select`` picks: one byte per frame, 1 if picked."""
    # A one-frame-per-second stand-in: frame n has pts n, so the framecrc rows name the picks.
    proc = run_ffmpeg(
        ["-f", "lavfi", "-i", f"nullsrc=size=2x2:rate=1:duration={frame_count}", "-vf", select,
         "-fps_mode", "passthrough", "-f", "framecrc", "-"],
        what=f"evaluating {select!r}",
    )  # fmt: skip
    mask = bytearray(frame_count)
    for line in proc.stdout.splitlines():
        if line and not line.startswith("#"):
            mask[int(line.split(",")[2])] = 1
    return bytes(mask)


def pack(mask: bytes) -> str:
    """``mask`` as text for a task's config (a regular pattern compresses to a few bytes)."""
    return base64.b64encode(zlib.compress(mask, 9)).decode("ascii")


def unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def reach(mask: bytes, before: int, after: int) -> tuple[int, int]:
    """Source frames a chunk decodes before and after its own so that windows over the picked
    frames (``before`` picks back, ``after`` picks on) see every pick they read, wherever the
    chunk starts or ends."""
    picks = [i for i, bit in enumerate(mask) if bit]
    back = max((picks[k] - picks[k - before] for k in range(before, len(picks))), default=0) if before else 0
    ahead = max((picks[k + after] - picks[k] for k in range(len(picks) - after)), default=0) if after else 0
    return back, ahead


def span(mask: bytes, first: int, stop: int, rate: Fraction) -> tuple[int, float, float]:
    """For a chunk of source frames [first, stop): the picks before it and where its packed
    frames start and end on the output, in seconds (half a frame early: the frames sit
    exactly on the grid, and a trim at a grid point might round either way)."""
    before = sum(mask[:first])
    through = before + sum(mask[first:stop])
    start = max(Fraction(0), before - Fraction(1, 2))
    return before, float(start / rate), float((through - Fraction(1, 2)) / rate)
