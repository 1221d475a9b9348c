"""Frame-numbered fades (``fade=in:0:30``) split into chunks with plain ffmpeg's frames.

ffmpeg's fade counts the frames it has seen: frame i of the stream is faded by
``(i - start_frame) * (65536 // nb_frames)``, clipped, from ``start_frame`` to one frame past
``start_frame + nb_frames``. A chunk's fade counts from the first frame the chunk decodes (its
lead, source number L), so the chunk's fade starts at ``start_frame - L``. That number has no
negative: a chunk whose lead is past the start must begin after the fade has ended, which a
pre-roll of ``nb_frames + 1`` frames guarantees (a lead past the start means the chunk's
first kept frame is more than ``nb_frames`` after it). Such a chunk sees the fade done:
a fade-in leaves its frames as they are (``null``), a fade-out makes them the fade's colour,
which ``start_frame=0:nb_frames=1`` gives from the chunk's second decoded frame on (the pre-roll
makes the first kept frame at least that).

At planning, each such fade is written with its options named (:func:`name_options`), so that
workers rewrite it (:func:`shift`) without asking ffmpeg how its options are ordered.
"""

from __future__ import annotations

from sprocket_cli.plan.filtergraph import FilterUse, arguments, parse_graph
from sprocket_cli.plan.filteroptions import filter_help

#: The options that place a fade by frame count, with their short names.
_PLACING = {"t": "type", "type": "type", "s": "start_frame", "start_frame": "start_frame",
            "n": "nb_frames", "nb_frames": "nb_frames"}  # fmt: skip
#: Beyond this many frames, a chunk's pre-roll would cost more than one worker saves.
LONGEST = 250


def frame_fade(use: FilterUse) -> tuple[str, int, int] | None:
    """(type, start_frame, nb_frames) of a fade placed by frame count; None for one placed by
    time (``st=``, ``d=``) or any other filter."""
    if use.name != "fade":
        return None
    values = filter_help("fade").resolve(use.positional, use.named)
    if any(float(values.get(k, "0") or 0) for k in ("start_time", "duration")):
        return None
    kind = "out" if values.get("type", "in") in ("out", "1") else "in"
    return kind, int(values.get("start_frame", "0")), int(values.get("nb_frames", "25"))


def name_options(vf: str) -> str:
    """``vf`` with each frame-numbered fade's placing options named (``fade=in:0:30`` ->
    ``fade=type=in:start_frame=0:nb_frames=30``), the rest as written."""
    out = vf
    for use in parse_graph(vf):
        placed = frame_fade(use)
        if placed is None:
            continue
        kind, start, count = placed
        order = filter_help("fade").options
        rest = []
        for i, part in enumerate(arguments(use.text)):
            key, eq, value = part.partition("=")
            if not eq or not key.strip().isidentifier():
                key, value = order[i], part  # positional: its option by ffmpeg's order
            if _PLACING.get(key.strip()) is None:
                rest.append(f"{key.strip()}={value}")
        named = ":".join([f"type={kind}", f"start_frame={start}", f"nb_frames={count}", *rest])
        out = out.replace(use.text, f"fade={named}", 1)
    return out


def shift(use: FilterUse, lead: int) -> str | None:
    """``use`` for a chunk whose first decoded frame is source frame ``lead``, if it is a fade
    as :func:`name_options` wrote it (None otherwise: nothing to shift). Workers call this: it
    reads only the named options, and asks ffmpeg nothing."""
    named = dict(use.named)
    if use.name != "fade" or not {"type", "start_frame", "nb_frames"} <= set(named):
        return None
    kind, start, count = named["type"], int(named["start_frame"]), int(named["nb_frames"])
    rest = [part for part in arguments(use.text) if _PLACING.get(part.partition("=")[0]) is None]
    if start >= lead:
        placing = [f"type={kind}", f"start_frame={start - lead}", f"nb_frames={count}"]
    elif kind == "in":
        return "null"  # faded in before this chunk: its frames are as they are
    else:
        placing = ["type=out", "start_frame=0", "nb_frames=1"]  # faded out: all the colour
    return "fade=" + ":".join([*placing, *rest])
