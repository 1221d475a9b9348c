"""A pipespec bound to its probed inputs: each node's config completed, and what the nodes ask
of the chunk plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from sprocket_cli.errors import UsageError
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Pipespec


@dataclass(frozen=True)
class Bound:
    """A pipespec bound to its probed inputs, and what its nodes ask of the chunk plan."""

    spec: Pipespec
    offset: Fraction = Fraction(0)
    """Where the second input's first frame falls on the first's timeline, seconds."""
    end_pts: int | None = None
    """Where the output ends on the first input's timeline; None: where it ends."""
    roll: tuple[int, int] = (0, 0)
    """Frames before and after its own that each chunk decodes (windowed filters)."""
    drops: int = 0
    """Frames at the start that give no output: the output's timeline starts after them."""
    span: tuple[int, int] | None = None
    """(first, end) pts of the first input's frames a cut keeps; None: all of them."""
    whole: bool = False
    """One chunk over the whole video: a node gives plain ffmpeg's result only that way."""
    notices: tuple[str, ...] = ()
    """Lines for the user before work starts."""


def bind(spec: Pipespec, media: Sequence[MediaInfo]) -> Bound:
    """``spec`` with each node's config completed from the probed inputs (:meth:`Stage.bind`),
    and what the nodes ask of the chunk plan: the second input's offset, the output's end,
    the frames windowed filters read around each chunk, or one chunk for the whole video."""
    bound = Bound(spec)
    nodes = []
    for node in spec.nodes:
        binding = node.stage().bind(node.config, media)
        nodes.append(replace(node, config=binding.config))
        bound = replace(
            bound,
            offset=binding.offset or bound.offset,
            end_pts=binding.end_pts if binding.end_pts is not None else bound.end_pts,
            roll=(bound.roll[0] + binding.roll[0], bound.roll[1] + binding.roll[1]),
            drops=bound.drops + binding.drops,
            span=binding.span or bound.span,
            whole=bound.whole or binding.whole,
            notices=(*bound.notices, f"{node.name}: {binding.notice}") if binding.notice else bound.notices,
        )
    return replace(bound, spec=replace(spec, nodes=tuple(nodes)))


def check_bindings(kind: str, wanted: tuple[str, ...], given: Mapping[str, object]) -> None:
    missing = [w for w in wanted if w not in given]
    extra = [g for g in given if g not in wanted]
    if missing:
        raise UsageError(f"the pipeline needs {kind} {', '.join(missing)}; bind with --{kind} NAME=...")
    if extra:
        raise UsageError(f"the pipeline has no {kind} {', '.join(extra)} (it has: {', '.join(wanted)})")
