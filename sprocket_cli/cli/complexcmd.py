"""``sprocket filter A [B] --filter-complex GRAPH``: which pipeline runs a user's graph.

A graph that reads only ``[0:v]`` (a mirror: ``[0:v]split[a][b];[b]hflip[c];[a][c]hstack``)
is an ordinary filter chain over one video, run by the ``filter`` pipeline as a ``-vf``
graph; one that reads ``[1:v]`` too runs in the ``filter_complex`` pipeline, each chunk
holding both videos' frames. Either way only graphs that give plain ffmpeg's frames in
chunks are taken (:func:`~sprocket_cli.plan.complexmodel.model_graph`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import builtin_pipelines
from sprocket_cli.errors import UsageError
from sprocket_cli.media.containers import Container
from sprocket_cli.media.filtercheck import check_filter, check_filter_complex
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.plan.complexgraph import ComplexGraph, parse_complex
from sprocket_cli.plan.complexmodel import model_graph


class GraphJob:
    """A ``--filter-complex`` request, checked before any probe: each conflict in one line."""

    def __init__(
        self, text: str | None, sources: Sequence[str], *, vf: str | None, speed: float | None
    ) -> None:
        if text is None:
            raise UsageError("a second input goes with --filter-complex (a graph reading [0:v] and [1:v])")
        if vf is not None:
            raise UsageError("--vf and --filter-complex do not go together: put the chain in the graph")
        if speed is not None:
            raise UsageError("--speed goes with --vf, not with --filter-complex")
        self.graph: ComplexGraph = parse_complex(text)
        self.graph.check_inputs(len(sources))
        if len(self.graph.reads) < len(sources):
            unread = sources[len(self.graph.reads)]
            raise UsageError(f"the graph does not read {unread} ([1:v]); leave it out, or use [1:v]")
        model_graph(self.graph)
        # Over one video, the graph is a -vf graph for the filter stage (one unlabelled input).
        self.vf = self.graph.render({0: None}) if len(sources) == 1 else None

    def pipeline(self, encode: Mapping[str, Any]) -> Pipespec:
        if self.vf is not None:
            return builtin_pipelines.load("filter", {"filter": {"vf": self.vf}, "encode": encode})
        return builtin_pipelines.load(
            "filter_complex", {"filter_complex": {"graph": self.graph.text}, "encode": encode}
        )

    def check(
        self, sources: Sequence[str], encoder: Mapping[str, str], segment_format: str, container: Container
    ) -> None:
        """The graph and the encoder on the first frame of each input (a typo fails here)."""
        if self.vf is not None:
            check_filter(sources[0], self.vf, encoder, segment_format, container)
        else:
            check_filter_complex(sources, self.graph, encoder, segment_format, container)
