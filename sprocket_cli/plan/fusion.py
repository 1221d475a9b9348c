"""Validated pipespec -> physical plan: which nodes fuse into one task.

A stream fuses its two nodes when the upstream node feeds only that one, the downstream node's
delivery function takes chunk i of each input together (one-to-one, pair), both stages can
share a process, and neither node says ``"fuse": false``. Nodes joined by fused streams form
one group: one task per chunk, one ffmpeg process, no storage round trip inside. A group is
a chain (decode -> filter -> encode), or a tree when a node joins several inputs (blend's two
decodes): each input is then a *lane* of the task. Items cross storage only between groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from sprocket_cli.pipeline.pipespec import DEFAULT_DELIVERY, Endpoint, Node, Pipespec
from sprocket_cli.pipeline.registry import delivery_class, stage_ref
from sprocket_cli.stages.base import port_type
from sprocket_cli.tasks import StageCall


def stage_calls(nodes: Iterable[Node], lanes: Mapping[str, int] | None = None) -> tuple[StageCall, ...]:
    """What a task tells its worker to run for ``nodes``: names, plain-JSON configs, lanes."""
    lanes = lanes or {}
    # A user's stage goes by module:Class: its NAME is not what the worker's registry knows.
    return tuple(
        StageCall(n.name, stage_ref(n.stage), n.config.model_dump(), lanes.get(n.name)) for n in nodes
    )


@dataclass(frozen=True)
class Group:
    """Nodes that run as one task per chunk."""

    name: str
    nodes: tuple[Node, ...]
    inputs: tuple[tuple[str, Endpoint], ...]
    """(input port, the endpoint feeding it) for each input of the group, in lane order; the
    port is ``node.port`` when several nodes take inputs from outside the group."""
    outputs: tuple[Endpoint, ...]
    """Where the last node's output goes: other groups' first nodes, or output_N endpoints."""
    output_type: str
    lanes: tuple[tuple[str, int], ...] = ()
    """Node -> the input (lane) it works on, for the nodes before the join of a multi-input group."""

    @property
    def delivery_function(self) -> str:
        """The first node's own, or the joining node's (``pair``) when nodes before it fused."""
        chosen = [n.delivery_function for n in self.nodes if n.delivery_function != DEFAULT_DELIVERY]
        return chosen[0] if chosen else DEFAULT_DELIVERY

    @cached_property
    def stage_calls(self) -> tuple[StageCall, ...]:
        """Computed once per group, not once per task."""
        return stage_calls(self.nodes, dict(self.lanes))

    @property
    def ports(self) -> tuple[str, ...]:
        return tuple(port for port, _ in self.inputs)


@dataclass(frozen=True)
class PhysicalPlan:
    spec: Pipespec
    groups: tuple[Group, ...]
    """In topological order."""

    def group_of(self, node: str) -> Group:
        return next(g for g in self.groups if g.nodes[0].name == node)

    @property
    def fused(self) -> bool:
        return any(len(g.nodes) > 1 for g in self.groups)

    @property
    def serialized(self) -> tuple[str, ...]:
        """Nodes whose stage needs the whole video in playback order on one worker."""
        return tuple(n.name for n in self.spec.nodes if n.stage.SERIALIZED)

    @property
    def serialized_groups(self) -> tuple[str, ...]:
        """Groups holding a :attr:`serialized` node."""
        ordered = set(self.serialized)
        return tuple(g.name for g in self.groups if ordered & {n.name for n in g.nodes})

    @property
    def span_groups(self) -> frozenset[str]:
        """Groups whose tasks cover other spans than chunks (one per scene), which may cross
        chunk boundaries."""
        return frozenset(g.name for g in self.groups if not delivery_class(g.delivery_function).PER_CHUNK)


def plan(spec: Pipespec) -> PhysicalPlan:
    outgoing: dict[str, list[Endpoint]] = {}
    incoming: dict[str, list[tuple[str, Endpoint]]] = {}
    for s in spec.streams:
        outgoing.setdefault(s.src.node, []).append(s.dst)
        incoming.setdefault(s.dst.node, []).append((s.dst.port, s.src))
    by_name = {n.name: n for n in spec.nodes}

    def fuses(up: Node, node: Node) -> bool:
        return (
            node.fuse
            and up.fuse
            and node.stage.FUSIBLE
            and up.stage.FUSIBLE
            and delivery_class(node.delivery_function).FUSIBLE
            and len(outgoing.get(up.name, [])) == 1
        )

    # Union-find over fused streams: each group is one tree of nodes.
    leader = {n.name: n.name for n in spec.nodes}

    def find(name: str) -> str:
        while leader[name] != name:
            leader[name] = leader[leader[name]]
            name = leader[name]
        return name

    for s in spec.streams:
        if (
            s.src.node in by_name
            and s.dst.node in by_name
            and fuses(by_name[s.src.node], by_name[s.dst.node])
        ):
            leader[find(s.dst.node)] = find(s.src.node)
    members: dict[str, list[Node]] = {}
    for node in _topological(spec):  # groups and their nodes in topological order
        members.setdefault(find(node.name), []).append(node)
    return PhysicalPlan(spec, tuple(_group(nodes, incoming, outgoing) for nodes in members.values()))


def _group(
    nodes: list[Node],
    incoming: Mapping[str, list[tuple[str, Endpoint]]],
    outgoing: Mapping[str, list[Endpoint]],
) -> Group:
    names = {n.name for n in nodes}
    entries = [
        (n.name, port, src) for n in nodes for port, src in incoming.get(n.name, []) if src.node not in names
    ]
    qualify = len({node for node, _, _ in entries}) > 1
    inputs = sorted(((f"{node}.{port}" if qualify else port), src) for node, port, src in entries)
    last = nodes[-1]  # the tree's root: every other node feeds exactly one node in the group
    return Group(
        name="+".join(n.name for n in nodes),
        nodes=tuple(nodes),
        inputs=tuple(inputs),
        outputs=tuple(dst for n in nodes for dst in outgoing.get(n.name, []) if dst.node not in names),
        output_type=port_type(last.stage.OUTPUTS[0]) if last.stage.OUTPUTS else "",
        lanes=_lanes(nodes, [port for port, _ in inputs], incoming, qualify) if len(inputs) > 1 else (),
    )


def _lanes(
    nodes: list[Node], ports: list[str], incoming: Mapping[str, list[tuple[str, Endpoint]]], qualify: bool
) -> tuple[tuple[str, int], ...]:
    """Which input each node before the join works on: an entry node its own input's, a node
    fed from one lane that lane's; the joining node and those after it have none."""
    lane: dict[str, int | None] = {}
    for n in nodes:
        own = [ports.index(f"{n.name}.{p}" if qualify else p) for p, _ in incoming.get(n.name, [])
               if (f"{n.name}.{p}" if qualify else p) in ports]  # fmt: skip
        fed = {lane.get(src.node) for _, src in incoming.get(n.name, []) if src.node in lane}
        found = set(own) | fed
        lane[n.name] = found.pop() if len(found) == 1 else None
    return tuple((name, index) for name, index in lane.items() if index is not None)


def _topological(spec: Pipespec) -> list[Node]:
    order: list[Node] = []
    done: set[str] = set()
    by_name = {n.name: n for n in spec.nodes}
    ups: dict[str, set[str]] = {n.name: set() for n in spec.nodes}
    for s in spec.streams:
        if s.src.node in by_name and s.dst.node in by_name:
            ups[s.dst.node].add(s.src.node)
    while len(order) < len(spec.nodes):
        for n in spec.nodes:
            if n.name not in done and ups[n.name] <= done:
                order.append(n)
                done.add(n.name)
    return order
