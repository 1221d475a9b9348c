"""Whole-file frame numbers on every worker: ``n`` in a chunk's filters counts from its first frame.

ffmpeg counts ``n`` (``N`` in geq) from the first frame a filter sees, so a chunk's filters
would restart at 0. For a filter whose frame number only feeds its own per-frame expressions
(hue, eq, geq, overlay, drawbox, crop, ``enable=``), each chunk rewrites ``n`` as
``(n+K)``, K being the source frame number of the chunk's first frame; drawtext's ``%{n}``
counts from its ``start_number``. The planner allows this only where every filter before
keeps one frame per frame, so the count the filter sees is the source's.
"""

from __future__ import annotations

import re

from sprocket_cli.plan.filtergraph import FilterUse, parse_graph
from sprocket_cli.plan.framefades import LONGEST, frame_fade, shift

_NUMBER = re.compile(r"(?<![\w.%{])(n|N)(?![\w(])")
#: Text options of drawtext: ``n`` there is a letter, not a frame number.
_TEXT_OPTIONS = frozenset({"text", "textfile", "fontfile", "font", "fontcolor", "boxcolor", "bordercolor"})


def renumberable(use: FilterUse) -> bool:
    """Whether ``use``'s frame numbers can be shifted: drawtext by its start_number (text
    only), any other per-frame filter by rewriting ``n`` in its expressions."""
    if use.name == "drawtext":
        return not any(_NUMBER.search(v) for k, v in use.named if k not in _TEXT_OPTIONS) and not any(
            _NUMBER.search(v) for v in use.positional
        )
    if use.name == "fade":  # by its start frame, with a pre-roll (see framefades)
        placed = frame_fade(use)
        return placed is not None and placed[2] < LONGEST
    return True


def number_frames(vf: str, offset: int) -> str:
    """``vf`` with every frame number counting from ``offset`` instead of 0."""
    if offset == 0:
        return vf
    out = vf
    for use in parse_graph(vf):
        if (shifted := shift(use, offset)) is not None:
            out = out.replace(use.text, shifted, 1)
            continue
        if use.name == "drawtext":
            if "%{n}" in use.text or "%{frame_num}" in use.text:
                start = int(dict(use.named).get("start_number", "0"))
                renamed = re.sub(r":?start_number=[^:]*", "", use.text)
                out = out.replace(use.text, f"{renamed}:start_number={start + offset}", 1)
            continue
        name, eq, args = use.text.partition("=")
        if eq and _NUMBER.search(args):
            out = out.replace(use.text, f"{name}={_NUMBER.sub(lambda m: f'({m[1]}+{offset})', args)}", 1)
    return out
