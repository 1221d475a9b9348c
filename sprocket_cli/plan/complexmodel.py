"""The filter model over a ``-filter_complex`` graph: which filters split, and the frames each
chunk decodes around its own for the windowed ones.

Each filter of the graph is classified as in a ``-vf`` chain
(:func:`~sprocket_cli.plan.filtermodel.classify`). Per-frame filters split as they are. A
windowed filter (``tmix``, ``tmedian``) reads a few frames of its own input stream before or
after each frame; in a graph that stream may be an input's, or a join's (an overlay gives a
frame per frame of its main input, a stack one at each time any of its inputs has a frame).
So the window is counted in time: ``k`` frames of a stream span at most ``k`` times the
longest frame interval of the inputs it comes from, and the windows along each path from an
input to the output add up. Each chunk then decodes that much time of the inputs before and
after its own, and the graph's output keeps the chunk's span
(:class:`~sprocket_cli.stages.filtercomplex.FilterComplex`): the rest is dropped.

Refused in one line naming the filter, before any work: any other class (timing, frame
numbers, state), and a windowed filter that gives no frame for the first frames of its
stream or a frame per field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache

from sprocket_cli.errors import BadFilterError
from sprocket_cli.plan.complexgraph import ComplexGraph, GraphRefused, Step
from sprocket_cli.plan.filtergraph import FilterUse, parse_graph
from sprocket_cli.plan.filtermodel import Finding, classify
from sprocket_cli.plan.filteroptions import filter_help
from sprocket_cli.plan.filtertable import HANDLING, FilterClass

#: Where a filter's input comes from: an input of the job (its index) or another step.
_Node = tuple[int, int]


@dataclass(frozen=True)
class Windowed:
    """A windowed filter of the graph."""

    text: str
    before: int
    """Frames of its input stream it reads before each output frame."""
    after: int
    """Frames after it."""


@dataclass(frozen=True)
class GraphModel:
    """A graph that splits: its windowed filters, and how they stand on the paths to the output."""

    graph: ComplexGraph
    windows: Mapping[_Node, Windowed]
    """The windowed steps, by (chain, position)."""

    def roll_seconds(self, intervals: Sequence[Fraction]) -> tuple[Fraction, Fraction]:
        """Seconds of every input each chunk decodes before and after its own, given each
        input's longest frame interval (seconds): the largest sum of windows on any path from an
        input to the output, each window counted in the longest interval upstream of it."""
        links = _links(self.graph)
        consumers: dict[_Node, list[_Node]] = {}
        for node, sources in links.items():
            for source in sources:
                if isinstance(source, tuple):
                    consumers.setdefault(source, []).append(node)

        def longest(node: _Node) -> Fraction:
            return max(intervals[n] for n in _upstream(links, node))

        def need(node: _Node, side: int) -> Fraction:
            window = self.windows.get(node)
            own = 0 if window is None else _reach(window)[side] * longest(node)
            return own + max((need(c, side) for c in consumers.get(node, [])), default=Fraction(0))

        before = max((need(node, 0) for node in links), default=Fraction(0))
        after = max((need(node, 1) for node in links), default=Fraction(0))
        return before, after


def model_graph(graph: ComplexGraph) -> GraphModel:
    """``graph``'s model; :class:`GraphRefused` naming the first filter that keeps it from
    giving plain ffmpeg's frames in chunks, :class:`BadFilterError` for an unknown filter."""
    links = _links(graph)
    windows: dict[_Node, Windowed] = {}
    for node in links:
        use = _use(graph, node)
        if not filter_help(use.name).exists:
            raise BadFilterError(f"{use.name!r}: this ffmpeg has no such filter")
        finding = classify(use)
        if finding.kind is FilterClass.WINDOW:
            windows[node] = _windowed(finding)
        elif finding.kind is not FilterClass.FRAME:
            what = HANDLING[finding.kind][0]
            raise GraphRefused(
                f"{use.text!r} is {finding.kind.value} ({what}): a filter graph runs in chunks "
                "with per-frame and windowed filters only, for now"
            )
    # The per-frame filters' own checks (their options at an input's end), on them alone.
    frame_only = ",".join(_step(graph, node).body for node in links if node not in windows)
    if frame_only:
        replace(graph, text=frame_only).check_split()
    return GraphModel(graph, windows)


def frames_for(seconds: Fraction, shortest: Fraction) -> int:
    """Frames of the first input that span ``seconds`` at least, its frames being at least
    ``shortest`` seconds apart."""
    return math.ceil(seconds / shortest) if seconds > 0 else 0


def _reach(window: Windowed) -> tuple[int, int]:
    """Frames of its input a chunk decodes before and after its own for ``window``. A filter
    that reads ahead may stop that many frames before its input's end (tmedian gives no frame
    for the last ones), and a chunk of a longer input past there must still hold the last
    frame it gives, which stays on screen: its look-ahead counts before the chunk too."""
    return window.before + window.after, window.after


def _windowed(finding: Finding) -> Windowed:
    if finding.drops:
        raise GraphRefused(
            f"{finding.text!r} gives no frame for its input's first frame(s): in a filter graph "
            "that is not split yet"
        )
    if finding.fields:
        raise GraphRefused(
            f"{finding.text!r} sends a frame per field: in a filter graph that is not split yet"
        )
    return Windowed(finding.text, finding.before, finding.after)


def _step(graph: ComplexGraph, node: _Node) -> Step:
    return graph.chains[node[0]][node[1]]


def _use(graph: ComplexGraph, node: _Node) -> FilterUse:
    return parse_graph(_step(graph, node).body)[0]


def _links(graph: ComplexGraph) -> dict[_Node, tuple[int | _Node, ...]]:
    """Each step's sources: a job input (its index) or the step whose output it reads (by
    label, or as the next filter of a chain after one with no output label)."""
    made = {
        label: (c, s)
        for c, chain in enumerate(graph.chains)
        for s, step in enumerate(chain)
        for label in step.outputs
    }
    links: dict[_Node, tuple[int | _Node, ...]] = {}
    for c, chain in enumerate(graph.chains):
        for s, step in enumerate(chain):
            sources: list[int | _Node] = []
            if s and not chain[s - 1].outputs:
                sources.append((c, s - 1))
            for label in step.inputs:
                sources.append(int(label.partition(":")[0]) if label in graph.streams else made[label])
            links[(c, s)] = tuple(sources)
    return links


def _upstream(links: dict[_Node, tuple[int | _Node, ...]], node: _Node) -> frozenset[int]:
    """The job's inputs whose frames reach ``node``."""

    @cache
    def walk(at: _Node) -> frozenset[int]:
        found: set[int] = set()
        for source in links[at]:
            found |= walk(source) if isinstance(source, tuple) else {source}
        return frozenset(found)

    return walk(node)
