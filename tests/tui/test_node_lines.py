"""A job whose workers ran on several nodes (a Ray cluster's, both at 127.0.0.1) shows a line
per node, every figure kept at 80 columns; a job on one node, or on sandboxes, shows none."""

from __future__ import annotations

from dataclasses import replace

from sprocket_cli.events import Event, JobFinished, JobStarted, NodeWork, TaskFinished
from tests.tui.conftest import settle
from tests.tui.test_narrow import Replay, lines, screen
from tui import make_app
from tui.widgets.node_lines import NodeLines

GROUP = "decode+filter+encode"
NODES = ("127.0.0.1/3f2a9c1b", "127.0.0.1/77d0e4aa")


def _job(nodes: tuple[str, ...]) -> list[Event]:
    """Four 50-frame tasks, one second of work each, over ``nodes`` in turn, the first node's
    results sized as Ray's are (8 CPUs, 1 GPU); at second 4."""
    events: list[Event] = [
        JobStarted(
            t=0.0, job_id="20261207-120000-0002", job_dir="/nonexistent", pipeline="filter",
            inputs={"input_0": "in.mp4"}, outputs={}, chunks=4, tasks=4, workers=2, executor="ray",
            duration=8.0, frames=200, groups=[GROUP], chunk_starts=[0.0, 2.0, 4.0, 6.0],
        )
    ]  # fmt: skip
    for chunk in range(4):
        node = nodes[chunk % len(nodes)]
        meta = {"node_cpus": 8, "node_gpus": 1} if node == nodes[0] else {"node_cpus": 2}
        events.append(
            TaskFinished(t=4.0, task_id=f"{GROUP}/c{chunk:05d}", group=GROUP, chunk=chunk, attempt=1,
                         frames=50, worker=f"{node}:{100 + chunk}", read=0.25, compute=0.5, write=0.25,
                         result={"meta": meta}, slot=chunk % 2, node=node)
        )  # fmt: skip
    return events


async def test_at_80_columns_a_line_per_node_keeps_every_figure() -> None:
    app = make_app(Replay(_job(NODES)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = [line.rstrip() for line in lines(app.query_one(NodeLines))]
        assert len(shown) == 2
        for line, node, size in zip(shown, NODES, ("8 CPU 1 GPU", "2 CPU"), strict=True):
            assert line.split()[0] == node
            # 2 tasks of 50 frames in 4 s; 2 x 1 s of work.
            assert f" {size} " in line and "2 tasks" in line
            assert "25.0 frames/s" in line and "2.0 worker-s" in line
        assert all(len(line) == 80 for line in screen(app))


async def test_the_jobs_end_has_the_final_figures() -> None:
    end = JobFinished(
        t=5.0, job_id="20261207-120000-0002", outputs={}, playlist="", wall=5.0, first_segment=1.0,
        duration_out=8.0, frames_out=200, peak_rss_mb=1.0, worker_seconds=4.0,
        nodes={NODES[0]: NodeWork(3, 150, 3.0, cpus=8), NODES[1]: NodeWork(1, 50, 1.0, cpus=2)},
    )  # fmt: skip
    app = make_app(Replay([*_job(NODES), end]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first, second = lines(app.query_one(NodeLines))
        assert first.split()[0] == NODES[0] and "3 tasks" in first and "3.0 worker-s" in first
        assert second.split()[0] == NODES[1] and " 1 task " in second


async def test_a_job_on_one_node_has_no_node_lines() -> None:
    app = make_app(Replay(_job(NODES[:1])))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.query_one(NodeLines).display
        assert app.view.nodes[NODES[0]].tasks == 4


async def test_sandboxes_of_unknown_size_have_no_node_lines() -> None:
    """Lambda's: each task may run in a sandbox of its own, which is no machine of the user's."""
    events = [e if not isinstance(e, TaskFinished) else replace(e, result={}) for e in _job(NODES)]
    app = make_app(Replay(events))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(app.view.nodes) == 2
        assert not app.query_one(NodeLines).display
