"""Validated pipespec -> physical plan: which nodes fuse into one task.

A linear run of nodes joined one-to-one (the upstream node feeds only the downstream one, the
downstream node has one input and the default delivery function, neither says ``"fuse": false``)
becomes one group: one task per chunk, one ffmpeg process, no storage round trip inside. Items
cross storage only between groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from sprocket_cli.pipespec import DEFAULT_DELIVERY, Endpoint, Node, Pipespec
from sprocket_cli.stages.base import port_type
from sprocket_cli.tasks import StageCall


def stage_calls(nodes: Iterable[Node]) -> tuple[StageCall, ...]:
    """What a task tells its worker to run for ``nodes``: names and plain-JSON configs."""
    return tuple(StageCall(n.name, n.stage.NAME, n.config.model_dump()) for n in nodes)


@dataclass(frozen=True)
class Group:
    """Nodes that run as one task per chunk."""

    name: str
    nodes: tuple[Node, ...]
    inputs: tuple[tuple[str, Endpoint], ...]
    """(first node's input port, the endpoint feeding it) for each input port."""
    outputs: tuple[Endpoint, ...]
    """Where the last node's output goes: other groups' first nodes, or output_N endpoints."""
    output_type: str

    @property
    def delivery_function(self) -> str:
        return self.nodes[0].delivery_function

    @cached_property
    def stage_calls(self) -> tuple[StageCall, ...]:
        """Computed once per group, not once per task."""
        return stage_calls(self.nodes)

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


def plan(spec: Pipespec) -> PhysicalPlan:
    outgoing: dict[str, list[Endpoint]] = {}
    incoming: dict[str, list[tuple[str, Endpoint]]] = {}
    for s in spec.streams:
        outgoing.setdefault(s.src.node, []).append(s.dst)
        incoming.setdefault(s.dst.node, []).append((s.dst.port, s.src))
    by_name = {n.name: n for n in spec.nodes}

    def fuses_with_upstream(node: Node) -> bool:
        ins = incoming.get(node.name, [])
        if len(ins) != 1 or ins[0][1].node not in by_name:
            return False
        up = by_name[ins[0][1].node]
        return (
            node.fuse
            and up.fuse
            and node.stage.FUSIBLE
            and up.stage.FUSIBLE
            and node.delivery_function == DEFAULT_DELIVERY
            and len(outgoing.get(up.name, [])) == 1
        )

    groups: list[Group] = []
    for node in _topological(spec):
        if fuses_with_upstream(node):
            continue  # already the tail of an upstream group
        chain = [node]
        while True:
            nxt = outgoing.get(chain[-1].name, [])
            if len(nxt) == 1 and nxt[0].node in by_name and fuses_with_upstream(by_name[nxt[0].node]):
                chain.append(by_name[nxt[0].node])
            else:
                break
        last = chain[-1]
        groups.append(
            Group(
                name="+".join(n.name for n in chain),
                nodes=tuple(chain),
                inputs=tuple(sorted(incoming.get(node.name, []), key=lambda pe: pe[0])),
                outputs=tuple(outgoing.get(last.name, [])),
                output_type=port_type(last.stage.OUTPUTS[0]) if last.stage.OUTPUTS else "",
            )
        )
    return PhysicalPlan(spec, tuple(groups))


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
