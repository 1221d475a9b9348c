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

Frame numbers (``n`` in hue, geq, drawtext, overlay) count the frames of a filter's input
stream from its first. Where that stream is one input's frames one for one (its own branch,
through filters that give a frame per frame; for the first input, also an overlay whose main
input is such a stream), each chunk counts from its first decoded frame's number in that
input, as ``-vf`` does (:mod:`~sprocket_cli.plan.framenumbers`): another input's chunk starts
at a frame of its own too (:func:`~sprocket_cli.media.chunking.align_chunks`). An overlay
gives a frame per frame of its main input, then, past that input's end, repeats of its last
one at the other's times: in a whole run as in the last chunk (the only one past there), so
the count agrees there too.

Refused in one line naming the filter, before any work: any other class (timing, state),
frame numbers of any other stream (a join's that pairs several inputs' frames, an overlay's
on another input's frames), a windowed filter that gives no frame for the first frames of
its stream or a frame per field, and, once the inputs are probed, a join whose output goes
on past its main input's end at a faster input's frame times (:meth:`GraphModel.check_tails`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache

from sprocket_cli.errors import BadFilterError
from sprocket_cli.plan.complexgraph import ComplexGraph, GraphRefused, Step
from sprocket_cli.plan.filtergraph import FilterUse, parse_graph
from sprocket_cli.plan.filtermodel import Finding, classify
from sprocket_cli.plan.filteroptions import filter_help
from sprocket_cli.plan.filtertable import HANDLING, FilterClass

#: Joins whose output has no frame rate when their inputs' rates differ (libavfilter/vf_stack.c).
_RATELESS_JOINS = frozenset({"hstack", "vstack", "xstack"})
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
    numbered: Mapping[_Node, int] = field(default_factory=dict)
    """The steps whose frame numbers count one input's frames, each with that input (its
    index): each chunk shifts them by its first decoded frame's number in that input."""

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

    def check_tails(
        self, ends: Sequence[Fraction], shortest: Sequence[Fraction], longest: Sequence[Fraction]
    ) -> None:
        """:class:`GraphRefused` naming a join whose output may go on past its main input's
        end with frames closer together than the main's, given each input's end (seconds from
        its first frame) and shortest and longest frame intervals.

        Such a join (an overlay) takes its main (first) input's frame rate, so ffmpeg's encoder
        puts its frames on a 1/rate grid; past the main's end the other input's frames come
        faster than that, and the encoder drops or moves each by the frames it kept before.
        Each chunk has its own encoder, with no such history at its start: a frame ffmpeg drops
        survives at a chunk's edge. A stack is no such join: inputs at different rates leave
        its output with no rate, and the encoder keeps its exact times."""
        links = _links(self.graph)
        for node, sources in links.items():
            use = _use(self.graph, node)
            if len(sources) < 2 or use.name in _RATELESS_JOINS:
                continue
            main = _inputs_of(links, sources[0])
            main_end = min(ends[n] for n in main)
            main_interval = max(longest[n] for n in main)
            for other in sources[1:]:
                if any(ends[n] > main_end and shortest[n] < main_interval for n in _inputs_of(links, other)):
                    raise GraphRefused(
                        f"{use.text!r}: another input outlasts its main input at a higher frame "
                        "rate; past the main's end ffmpeg's encoder drops frames by those before "
                        "them, which chunks cannot reproduce yet (make the longer, faster input "
                        "the main one, or trim it)"
                    )


def model_graph(graph: ComplexGraph) -> GraphModel:
    """``graph``'s model; :class:`GraphRefused` naming the first filter that keeps it from
    giving plain ffmpeg's frames in chunks, :class:`BadFilterError` for an unknown filter."""
    links = _links(graph)
    windows: dict[_Node, Windowed] = {}
    numbered: dict[_Node, int] = {}
    for node in links:
        use = _use(graph, node)
        if not filter_help(use.name).exists:
            raise BadFilterError(f"{use.name!r}: this ffmpeg has no such filter")
        finding = classify(use)
        if finding.kind is FilterClass.WINDOW:
            windows[node] = _windowed(finding)
        elif finding.kind is FilterClass.FRAME_NUMBER and finding.renumber and not finding.before:
            numbered[node] = _counted_input(graph, links, node)
        elif finding.kind is not FilterClass.FRAME:
            what = HANDLING[finding.kind][0]
            raise GraphRefused(
                f"{use.text!r} is {finding.kind.value} ({what}): a filter graph runs in chunks "
                "with per-frame and windowed filters, and frame numbers of the first input's "
                "frames, only, for now"
            )
    # The per-frame filters' own checks (their options at an input's end), on them alone; the
    # frame-numbered ones' options at an input's end too.
    frame_only = ",".join(_step(graph, n).body for n in links if n not in windows and n not in numbered)
    if frame_only:
        replace(graph, text=frame_only).check_split()
    if numbered:
        replace(graph, text=",".join(_step(graph, n).body for n in sorted(numbered))).check_ends()
    return GraphModel(graph, windows, numbered)


def _counted_input(graph: ComplexGraph, links: dict[_Node, tuple[int | _Node, ...]], node: _Node) -> int:
    """The input whose frames ``node`` counts (its first input's: an overlay's main), one for
    one; :class:`GraphRefused` if they are no input's so, or an overlay's main input is not the
    first's."""
    use = _use(graph, node)
    sources = links[node]
    counted = _one_for_one(graph, links, sources[0]) if sources else None
    if len(sources) > 1 and use.name != "overlay":
        why = f"it numbers the frames it pairs from {len(sources)} inputs"
    elif counted is None or (len(sources) > 1 and counted != 0):
        why = "the frames it numbers are not one input's one for one"
    else:
        return counted
    raise GraphRefused(
        f"{use.text!r} is frame-number ({why}): a filter graph's chunks count an input's frames "
        "on its own branch, and the first input's through an overlay whose main input they are, "
        "only, for now"
    )


def _one_for_one(
    graph: ComplexGraph, links: dict[_Node, tuple[int | _Node, ...]], source: int | _Node
) -> int | None:
    """The input whose frames ``source``'s are, one for one from its first: it is that input,
    a single-input step over such frames (every step the model takes gives a frame per frame),
    or an overlay whose main input is the first input's such frames; None: no input's."""
    if not isinstance(source, tuple):
        return source
    sources = links[source]
    if not sources:
        return None
    counted = _one_for_one(graph, links, sources[0])
    if len(sources) == 1:
        return counted
    # An overlay on another input's frames, on its main's chunk of the first's span, is not
    # shown to count as a whole run does yet.
    return 0 if _use(graph, source).name == "overlay" and counted == 0 else None


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


def _inputs_of(links: dict[_Node, tuple[int | _Node, ...]], source: int | _Node) -> frozenset[int]:
    """The job's inputs whose frames reach a filter through ``source``."""
    return _upstream(links, source) if isinstance(source, tuple) else frozenset({source})


def _upstream(links: dict[_Node, tuple[int | _Node, ...]], node: _Node) -> frozenset[int]:
    """The job's inputs whose frames reach ``node``."""

    @cache
    def walk(at: _Node) -> frozenset[int]:
        found: set[int] = set()
        for source in links[at]:
            found |= walk(source) if isinstance(source, tuple) else {source}
        return frozenset(found)

    return walk(node)
