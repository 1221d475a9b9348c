"""The summary's line per node: the busiest first, each node's size where known, and the nodes
past the first few in one line."""

from __future__ import annotations

from sprocket_cli.cli.render import NODE_LINES, node_lines
from sprocket_cli.events import NodeWork


def test_a_line_per_node_busiest_first_with_its_size() -> None:
    nodes = {"a/1": NodeWork(1, 25, 0.5, cpus=8, gpus=1), "a/2": NodeWork(2, 50, 1.5)}
    assert node_lines(nodes, wall=2.0) == [
        "a/2: 2 tasks, 1.5 worker-s, 25.0 frames/s",
        "a/1: 1 task, 0.5 worker-s, 12.5 frames/s, 8 CPU, 1 GPU",
    ]


def test_nodes_past_the_first_few_share_a_line() -> None:
    nodes = {f"n{i}": NodeWork(1, 10, float(i)) for i in range(NODE_LINES + 3)}
    lines = node_lines(nodes, wall=1.0)
    assert len(lines) == NODE_LINES + 1
    assert lines[0].startswith(f"n{NODE_LINES + 2}: ")
    assert lines[-1] == "3 more nodes: 3 tasks, 3.0 worker-s"  # n0 + n1 + n2's seconds
