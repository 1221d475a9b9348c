"""A pipespec bound to its probed inputs: each node's config completed, and what the nodes ask
of the chunk plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from sprocket_cli.errors import UsageError
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.pipeline.pipespec import Node, Pipespec


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
        binding = node.stage().bind(node.config, _media_of(spec, node, media))
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


def _media_of(spec: Pipespec, node: Node, media: Sequence[MediaInfo]) -> Sequence[MediaInfo]:
    """What ``node`` binds to: the job's inputs, or for a node joining several frame streams
    the input each of its ports' frames come from (both ports from one input: a mirror)."""
    if len(node.stage.INPUTS) < 2:
        return media
    origins = [_origin(spec, node.name, port, frozenset()) for port in node.stage.INPUTS]
    if None in origins or origins == list(range(len(origins))):
        return media
    return [media[i] for i in origins if i is not None]


def _origin(spec: Pipespec, name: str, port: str, seen: frozenset[str]) -> int | None:
    """The job input (its index) whose frames reach ``name``'s ``port``, through the first
    input port of each node on the way; None where no single one does."""
    stream = next((s for s in spec.streams if s.dst.node == name and s.dst.port == port), None)
    if stream is None or stream.src.node in seen:
        return None
    if stream.src.is_input:
        return spec.inputs.index(stream.src.node)
    upstream = spec.node(stream.src.node).stage.INPUTS
    return _origin(spec, stream.src.node, upstream[0], seen | {name}) if upstream else None


def check_bindings(kind: str, wanted: tuple[str, ...], given: Mapping[str, object]) -> None:
    missing = [w for w in wanted if w not in given]
    extra = [g for g in given if g not in wanted]
    if missing:
        raise UsageError(f"the pipeline needs {kind} {', '.join(missing)}; bind with --{kind} NAME=...")
    if extra:
        raise UsageError(f"the pipeline has no {kind} {', '.join(extra)} (it has: {', '.join(wanted)})")
