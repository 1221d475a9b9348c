"""The original's pipespec nodes and streams read in this project's terms (the tables of
:mod:`~sprocket_cli.pipeline.aliases` applied): aliased stages renamed or expanded into this
project's, dissolved nodes joined up, refused ones kept as a :class:`NodeProblem` for the
validator to report where the node stands."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.pipeline.aliases import (
    IGNORED_NODE_KEYS,
    IGNORED_STREAM_KEYS,
    REFUSED,
    STAGES,
    Alias,
    AliasError,
    delivery,
    wants_order,
)


@dataclass(frozen=True)
class NodeProblem:
    """A node that cannot be read here, in place of its JSON: the validator reports it there."""

    name: str
    message: str


@dataclass
class Translation:
    nodes: list[tuple[int, Any]] = field(default_factory=list)
    """(index in the file, node JSON or :class:`NodeProblem`), in the file's order."""
    streams: list[tuple[int, Any]] = field(default_factory=list)
    """(index in the file, stream JSON); streams added for an expanded node come last."""
    ports: dict[str, dict[str, str]] = field(default_factory=dict)
    """Node -> its original stage's own port names -> this project's."""
    origins: dict[str, str] = field(default_factory=dict)
    """Node -> the original's stage name it was written with, for messages."""
    ordered: dict[str, str] = field(default_factory=dict)
    """Node -> the original's serialized delivery function it asks its frames in order by."""


def _node_of(end: object) -> str | None:
    return end.partition(":")[0] if isinstance(end, str) and end.count(":") == 1 else None


class _Translator:
    def __init__(self, nodes: list[Any]) -> None:
        self.out = Translation()
        self.names = {n["name"] for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)}
        self.forwards: dict[str, str] = {}
        """Dissolved node -> its original stage."""
        self.ends: dict[str, tuple[str, str]] = {}
        """Expanded node -> (the part its inputs go to, the part its outputs come from)."""
        self.reads_chunks: set[str] = set()
        self.decodes: set[str] = set()
        self.internal: list[dict[str, str]] = []
        """Streams between the parts of expanded nodes."""

    def node(self, index: int, raw: Any) -> None:
        if not (
            isinstance(raw, dict) and isinstance(raw.get("name"), str) and isinstance(raw.get("stage"), str)
        ):
            self.out.nodes.append((index, raw))  # malformed: the validator says how
            return
        node = {k: v for k, v in raw.items() if k not in IGNORED_NODE_KEYS}
        name, stage = node["name"], node["stage"]
        alias = STAGES.get(stage)
        target = alias.stage if alias else stage
        if isinstance(node.get("delivery_function"), str):
            if wants_order(node["delivery_function"], target):
                self.out.ordered[name] = node["delivery_function"]
            node["delivery_function"] = delivery(node["delivery_function"], target)
        if stage in REFUSED:
            self.out.nodes.append((index, NodeProblem(name, f"stage {stage!r} {REFUSED[stage]}")))
            return
        if alias is None:
            self.out.nodes.append((index, node))
            if stage == "decode":
                self.decodes.add(name)
            return
        try:
            parts = self.parts(name, stage, alias, node)
        except AliasError as exc:
            self.out.nodes.append((index, NodeProblem(name, f"stage {stage!r}: {exc}")))
            return
        self.out.nodes.extend((index, part) for part in parts)
        self.out.ports[name] = dict(alias.ports)
        self.out.origins[name] = stage
        self.decodes.update(p["name"] for p in parts if p["stage"] == "decode")
        if alias.reads_chunks:
            self.reads_chunks.add(name)

    def parts(self, name: str, stage: str, alias: Alias, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The nodes of this project that ``node`` (the original's ``stage``) becomes."""
        config = node.get("config", {})
        if not isinstance(config, dict):
            raise AliasError('"config" must be an object')
        unknown = sorted(set(config) - {*alias.keys, *alias.ignored})
        if unknown and (alias.vf is not None or alias.forwards):
            read = ", ".join(alias.keys) or "no config keys"
            raise AliasError(f"unknown config key {unknown[0]!r} (the original's {stage} read {read})")
        if alias.forwards:
            self.forwards[name] = stage
            return []
        if alias.vf is None:  # a rename: the rest of the config is this project's stage's own
            kept = {alias.renames.get(k, k): v for k, v in config.items() if k not in alias.ignored}
            return [{**node, "stage": alias.stage, "config": {**alias.defaults, **kept}}]
        vf = alias.vf(config)
        if alias.stage == "filter":
            return [{**node, "stage": "filter", "config": {"vf": vf}}]
        if not alias.chain:  # a decoder whose ffmpeg arguments also filtered: decode -> filter
            then = [{"name": f"{name}_filter", "stage": "filter", "config": {"vf": vf}}] if vf else []
            return self.join(name, [{**node, "stage": alias.stage, "config": {}}, *then])
        # Chunks in and out: decode -> filter -> encode; the filter keeps the name, for --set.
        first = {"name": f"{name}_decode", "stage": "decode"}
        if "delivery_function" in node:
            first["delivery_function"] = node.pop("delivery_function")
        middle = {**node, "stage": "filter", "config": {"vf": vf or "null"}}
        return self.join(name, [first, middle, {"name": f"{name}_encode", "stage": "encode"}])

    def join(self, name: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Name the parts of an expanded node and join them with streams of frames."""
        if len(parts) == 1:
            return parts
        taken = [p["name"] for p in parts if p["name"] != name and p["name"] in self.names]
        if taken:
            raise AliasError(f"it becomes {len(parts)} nodes, but a node is already called {taken[0]!r}")
        named = next(p for p in parts if p["name"] == name)
        fuse = {"fuse": named["fuse"]} if "fuse" in named else {}  # "fuse": false splits them all
        parts = [{**p, **fuse} for p in parts]
        self.ends[name] = (parts[0]["name"], parts[-1]["name"])
        for a, b in itertools.pairwise(parts):
            self.internal.append({"src": f"{a['name']}:frames", "dst": f"{b['name']}:frames"})
        return parts

    def streams(self, raw_streams: list[Any]) -> None:
        fed_by: dict[str, object] = {}
        """Node -> the source end of the first stream into it (what a dissolved node forwards)."""
        for raw in raw_streams:
            if isinstance(raw, dict):
                fed_by.setdefault(_node_of(raw.get("dst")) or "", raw.get("src"))
        for index, raw in enumerate(raw_streams):
            if not isinstance(raw, dict):
                self.out.streams.append((index, raw))
                continue
            stream = {k: v for k, v in raw.items() if k not in IGNORED_STREAM_KEYS}
            if _node_of(stream.get("dst")) in self.forwards:
                continue  # the dissolved node's input: joined to its outputs below
            src = self.upstream(stream.get("src"), fed_by)
            if src is None:
                continue  # a dissolved node nothing feeds: what it fed is reported unconnected
            stream["src"] = self.end(src, 1)
            stream["dst"] = self.end(stream.get("dst"), 0)
            if _node_of(stream["dst"]) in self.reads_chunks and _node_of(src) in self.decodes:
                # The original's stage took decoded frames; this project's reads the chunks the
                # decoder was given, so it is fed from the decoder's source.
                stream["src"] = self.upstream(fed_by.get(_node_of(src) or ""), fed_by) or src
            self.out.streams.append((index, stream))
        self.out.streams.extend((len(raw_streams) + i, s) for i, s in enumerate(self.internal))

    def upstream(self, end: object, fed_by: Mapping[str, object]) -> object:
        """``end``, or what feeds it if it is a dissolved node's (repeatedly); None: nothing."""
        seen: set[str] = set()
        while (node := _node_of(end)) in self.forwards and node is not None and node not in seen:
            seen.add(node)
            end = fed_by.get(node)
        return None if _node_of(end) in seen else end

    def end(self, end: object, side: int) -> object:
        """An expanded node's end as the part that takes its inputs (0) or gives its outputs (1)."""
        node = _node_of(end)
        if node is None or node not in self.ends:
            return end
        return f"{self.ends[node][side]}:{str(end).partition(':')[2]}"

    def idle(self) -> NodeProblem | None:
        """If every node dissolved, nothing is left to run: name one (a ``null`` first)."""
        if not self.forwards or self.out.nodes:
            return None
        name = next((n for n, s in self.forwards.items() if s == "null"), next(iter(self.forwards)))
        stage = self.forwards[name]
        return NodeProblem(name, f"stage {stage!r} only passes its input on, and no node here does any work")


def translate(nodes: list[Any], streams: list[Any]) -> Translation:
    """The spec's ``nodes`` and ``streams`` in this project's terms (unchanged if they use them)."""
    t = _Translator(nodes)
    for index, raw in enumerate(nodes):
        t.node(index, raw)
    idle = t.idle()
    if idle is not None:
        t.out.nodes.append((0, idle))
    t.streams(streams)
    return t.out
