"""The pipespec language (paper §3.7): JSON in, frozen validated objects out.

``{"nodes": [{"name", "stage", "config", "delivery_function", "fuse"}],
   "streams": [{"src": "node:port", "dst": "node:port"}]}``

``input_N`` and ``output_N`` are endpoints bound when the job runs. A port's type is its name
without a trailing ``_N``; both ends of a stream must have the same type. Validation collects
every problem, each with its location (node, stream index, JSON line and column), before any
work starts. The original Sprocket's own names (its ``pipespec/*.pipe``) are read through
:mod:`sprocket_cli.pipeline.aliases` first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sprocket_cli.errors import PipespecError, SprocketError
from sprocket_cli.pipeline import aliases
from sprocket_cli.pipeline.registry import delivery_class, stage_class, stage_ref
from sprocket_cli.pipeline.translate import NodeProblem, translate
from sprocket_cli.stages.base import AnyStage, StageConfig, port_type

DEFAULT_DELIVERY = "one_to_one"
_ENDPOINT = re.compile(r"^(input|output)_\d+$")
_NODE_KEYS = {"name", "stage", "config", "delivery_function", "fuse", "description"}
_TOP_KEYS = {"nodes", "streams", "description", "name"}


@dataclass(frozen=True)
class Endpoint:
    node: str
    port: str

    @property
    def type(self) -> str:
        return port_type(self.port)

    @property
    def is_input(self) -> bool:
        return _ENDPOINT.match(self.node) is not None and self.node.startswith("input_")

    @property
    def is_output(self) -> bool:
        return _ENDPOINT.match(self.node) is not None and self.node.startswith("output_")

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"


@dataclass(frozen=True)
class Node:
    name: str
    stage: type[AnyStage]
    config: StageConfig
    delivery_function: str = DEFAULT_DELIVERY
    fuse: bool = True
    """False forces this node into its own task, exchanging data through storage (paper mode)."""


@dataclass(frozen=True)
class Stream:
    index: int
    src: Endpoint
    dst: Endpoint


@dataclass(frozen=True)
class Pipespec:
    name: str
    description: str
    nodes: tuple[Node, ...]
    streams: tuple[Stream, ...]
    inputs: tuple[str, ...] = field(default=())
    """Names of the ``input_N`` endpoints, sorted."""
    outputs: tuple[str, ...] = field(default=())

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


def to_dict(spec: Pipespec) -> dict[str, Any]:
    """``spec`` as pipespec JSON again (configs with their defaults filled in), e.g. for a
    job's record, so that ``resume`` rebuilds exactly the pipeline that ran."""
    return {
        "name": spec.name,
        "description": spec.description,
        "nodes": [
            {
                "name": n.name,
                "stage": stage_ref(n.stage),
                "config": n.config.model_dump(),
                "delivery_function": n.delivery_function,
                "fuse": n.fuse,
            }
            for n in spec.nodes
        ],
        "streams": [{"src": str(s.src), "dst": str(s.dst)} for s in spec.streams],
    }


def load_file(path: str | Path, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Pipespec:
    """Read and validate a pipespec file; ``overrides`` maps node name -> config keys to set."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SprocketError(f"{path}: cannot read pipespec ({exc.strerror})") from exc
    return parse(text, source=str(path), name=p.stem, overrides=overrides)


def parse(
    text: str,
    *,
    source: str = "pipespec",
    name: str = "pipeline",
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Pipespec:
    """Validate pipespec ``text``; raise :class:`PipespecError` listing every problem."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"pipespec (line {exc.lineno}, column {exc.colno})"
        raise PipespecError(
            [f"{where}: invalid JSON: {exc.msg}{_trailing_comma(text, exc.pos)}"], source
        ) from None
    return _Validator(text, source, overrides or {}).run(raw, name)


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)  # 1-based: rfind gives -1 on the first line
    return f"line {line}, column {column}"


def _trailing_comma(text: str, pos: int) -> str:
    """Names a comma before ``}`` or ``]``, which JSON forbids but hand-written specs have (the
    original's ddos.pipe): the decoder reports the bracket, the comma is the mistake."""
    before = text[:pos].rstrip()
    if text[pos : pos + 1] not in ("}", "]") or not before.endswith(","):
        return ""
    return f" (a trailing comma at {_line_col(text, len(before) - 1)}, which JSON does not allow)"


class _Validator:
    def __init__(self, text: str, source: str, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        self.text = text
        self.source = source
        self.overrides = overrides
        self.problems: list[str] = []
        self.names: set[str] = set()
        """Every node name declared, valid or not."""
        self.stages: dict[str, type[AnyStage]] = {}
        """Node name -> stage class, for nodes whose stage loaded (even with a bad config)."""
        self.ports: dict[str, dict[str, str]] = {}
        """Node -> the original's port names for it -> this project's (see aliases)."""
        self.orphans: set[str] = set()
        """Nodes and output_N fed by a stream whose source is broken (an unknown or refused
        stage, an unknown node): that first cause is reported, so their unconnected ports or an
        unreached output are not reported as well."""
        self.origins: dict[str, str] = {}
        """Node -> the original's stage name it was written with, named in config problems."""
        self.ordered: dict[str, str] = {}
        """Node -> the original's serialized delivery function it was given (see aliases)."""

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def _at(self, pattern: str, occurrence: int = 0, after: str | None = None) -> str:
        """' (line L, column C)' of the n-th match of ``pattern`` (past ``after``), if found."""
        start = 0
        if after is not None:
            found = re.search(after, self.text)
            start = found.end() if found else 0
        for i, m in enumerate(re.compile(pattern).finditer(self.text, start)):
            if i == occurrence:
                return f" ({_line_col(self.text, m.start())})"
        return ""

    def node_where(self, name: str, occurrence: int = 0) -> str:
        """Where the ``occurrence``-th node called ``name`` is (0 = the first)."""
        pattern = r'"name"\s*:\s*' + re.escape(json.dumps(name))
        return f"node {name!r}" + self._at(pattern, occurrence, after=r'"nodes"\s*:')

    def stream_where(self, index: int) -> str:
        return f"stream {index}" + self._at(r'"src"\s*:', index, after=r'"streams"\s*:')

    def run(self, raw: object, name: str) -> Pipespec:
        if not isinstance(raw, dict):
            raise PipespecError(["pipespec: must be a JSON object with nodes and streams"], self.source)
        for key in sorted(set(raw) - _TOP_KEYS):
            self.fail("pipespec", f"unknown key {key!r} (expected: {', '.join(sorted(_TOP_KEYS))})")
        raw_nodes = raw.get("nodes")
        raw_streams = raw.get("streams")
        if not isinstance(raw_nodes, list) or not raw_nodes:
            self.fail("pipespec", '"nodes" must be a non-empty list')
            raw_nodes = []
        if not isinstance(raw_streams, list) or not raw_streams:
            self.fail("pipespec", '"streams" must be a non-empty list')
            raw_streams = []
        ours = translate(raw_nodes, raw_streams)
        self.ports, self.origins, self.ordered = ours.ports, ours.origins, ours.ordered
        nodes = self.nodes(ours.nodes)
        for unknown in sorted(set(self.overrides) - self.names):
            self.fail(f"--set {unknown}", "no node of that name in the pipeline")
        streams = self.streams(ours.streams)
        self.check_graph(streams)
        if self.problems:
            raise PipespecError(self.problems, self.source)
        ends = {e.node for s in streams for e in (s.src, s.dst)}
        return Pipespec(
            name=str(raw.get("name", name)),
            description=str(raw.get("description", "")),
            nodes=tuple(nodes),
            streams=tuple(streams),
            inputs=tuple(sorted(e for e in ends if e.startswith("input_"))),
            outputs=tuple(sorted(e for e in ends if e.startswith("output_"))),
        )

    def nodes(self, raw_nodes: list[tuple[int, Any]]) -> list[Node]:
        nodes: list[Node] = []
        seen: list[str] = []
        for i, raw in raw_nodes:
            if isinstance(raw, NodeProblem):  # one of the original's stages, not readable here
                self.names.add(raw.name)
                self.fail(self.node_where(raw.name, seen.count(raw.name)), raw.message)
                seen.append(raw.name)
                continue
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
                self.fail(f"node {i}", 'must be an object with a non-empty string "name"')
                continue
            name = raw["name"]
            where = self.node_where(name, seen.count(name))
            seen.append(name)
            self.names.add(name)
            if seen.count(name) > 1:
                self.fail(where, "duplicate node name")
                continue
            if _ENDPOINT.match(name):
                self.fail(where, f"{name!r} is reserved for run-time inputs and outputs")
                continue
            for key in sorted(set(raw) - _NODE_KEYS):
                self.fail(where, f"unknown key {key!r}")
            node = self.node(raw, name, where)
            if node is not None:
                nodes.append(node)
        return nodes

    def node(self, raw: dict[str, Any], name: str, where: str) -> Node | None:
        if not isinstance(raw.get("stage"), str):
            self.fail(where, 'missing "stage"')
            return None
        try:
            stage = stage_class(raw["stage"], also=aliases.STAGES.keys() | aliases.REFUSED.keys())
        except SprocketError as exc:
            self.fail(where, str(exc))
            return None
        self.stages[name] = stage
        if name in self.ordered and not stage.SERIALIZED:
            self.fail(where, aliases.unordered(self.ordered[name], stage.NAME))
        delivery = raw.get("delivery_function", DEFAULT_DELIVERY)
        try:
            delivery_class(str(delivery), also=aliases.DELIVERY)
        except SprocketError as exc:
            self.fail(where, str(exc))
        fuse = raw.get("fuse", True)
        if not isinstance(fuse, bool):
            self.fail(where, '"fuse" must be true or false')
        config_raw = raw.get("config", {})
        if not isinstance(config_raw, dict):
            self.fail(where, '"config" must be an object')
            return None
        try:
            config = stage.Config(**{**config_raw, **self.overrides.get(name, {})})
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "config"
                origin = f", the original's {self.origins[name]!r}" if name in self.origins else ""
                self.fail(where, f"config {loc}: {err['msg']} (stage {stage.NAME!r}{origin})")
            return None
        return Node(name, stage, config, str(delivery), bool(fuse))

    def streams(self, raw_streams: list[tuple[int, Any]]) -> list[Stream]:
        streams: list[Stream] = []
        for i, raw in raw_streams:
            where = self.stream_where(i)
            if not isinstance(raw, dict) or set(raw) != {"src", "dst"}:
                self.fail(where, 'must be an object with exactly "src" and "dst"')
                continue
            src = self.endpoint(raw["src"], where, "src", outgoing=True)
            dst = self.endpoint(raw["dst"], where, "dst", outgoing=False)
            if src is None and dst is not None and self.broken(raw["src"]):
                self.orphans.add(dst.node)
            if src is None or dst is None:
                continue
            if src.is_input:  # the original's port names for inputs and outputs, as the other end's
                src = Endpoint(src.node, aliases.end_port(src.port, dst.port, dst.is_output))
            if dst.is_output:
                dst = Endpoint(dst.node, aliases.end_port(dst.port, src.port, src.is_input))
            if src.type != dst.type:
                self.fail(where, f"type mismatch: {src} carries {src.type!r} but {dst} takes {dst.type!r}")
                continue
            streams.append(Stream(i, src, dst))
        return streams

    def endpoint(self, text: object, where: str, side: str, *, outgoing: bool) -> Endpoint | None:
        if not isinstance(text, str) or text.count(":") != 1:
            self.fail(where, f'{side} must be "node:port", not {text!r}')
            return None
        node_name, port = text.split(":")
        ep = Endpoint(node_name, port)
        if ep.is_input or ep.is_output:
            if not _ENDPOINT.match(node_name) or ep.is_input != outgoing:
                role = "a source" if outgoing else "a destination"
                self.fail(where, f"{node_name!r} cannot be {role}")
                return None
            return ep
        stage = self.stages.get(node_name)
        if stage is None:
            if node_name not in self.names:
                self.fail(where, f"{side} names unknown node {node_name!r}")
            return None  # a node already reported as broken: no follow-on noise
        ports = stage.OUTPUTS if outgoing else stage.INPUTS
        port = aliases.port(port, ports, self.ports.get(node_name, {}))
        if port not in ports:
            kind = "output" if outgoing else "input"
            self.fail(
                where,
                f"node {node_name!r} (stage {stage.NAME!r}) has no {kind} port {port!r}; "
                f"its {kind} ports: {', '.join(ports)}",
            )
            return None
        return Endpoint(node_name, port)

    def broken(self, end: object) -> bool:
        """Whether ``end`` is on a node that is unknown or whose stage did not load (a problem
        reported already), rather than a bad port of a working node."""
        node = str(end).partition(":")[0]
        return _ENDPOINT.match(node) is None and node not in self.stages

    def check_graph(self, streams: list[Stream]) -> None:
        feeding: dict[tuple[str, str], list[Stream]] = {}
        for s in streams:
            feeding.setdefault((s.dst.node, s.dst.port), []).append(s)
        for name, stage in self.stages.items():
            for port in stage.INPUTS:
                got = feeding.get((name, port), [])
                if not got and name not in self.orphans:
                    self.fail(self.node_where(name), f"input port {port!r} is not connected")
                elif len(got) > 1:
                    idx = ", ".join(str(s.index) for s in got)
                    self.fail(
                        self.node_where(name),
                        f"input port {port!r} is fed by several streams ({idx})",
                    )
        cut = any(n.startswith("output_") for n in self.orphans)
        if streams and not cut and not any(s.dst.is_output for s in streams):
            self.fail("pipespec", "no stream reaches an output_N endpoint, so nothing would be written")
        cycle = _find_cycle(list(self.stages), streams)
        if cycle:
            self.fail("pipespec", "cycle: " + " -> ".join(cycle))


def _find_cycle(names: list[str], streams: list[Stream]) -> list[str] | None:
    """One cycle among the nodes as a list of names (first repeated at the end), or None."""
    edges: dict[str, list[str]] = {n: [] for n in names}
    for s in streams:
        if s.src.node in edges and s.dst.node in edges:
            edges[s.src.node].append(s.dst.node)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in edges[n]:
            if state.get(m) == 1:
                return [*path[path.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        path.pop()
        return None

    for n in names:
        if n not in state and (found := visit(n)):
            return found
    return None
