"""The job's breakdown from copies' slot time: what it counts where, and that it adds up."""

from __future__ import annotations

import json

import pytest

from sprocket_cli.events import Breakdown, JobFinished, NodeWork, event_from_dict
from sprocket_cli.run.ledger import Ledger
from sprocket_cli.tasks import Result, Timings

ORIGIN = 1_000_000.0
"""Unix time the job started: workers' timings are on that clock."""

SLOT_FIELDS = [name for name in Breakdown.PARTS if name not in Breakdown.WALL_PARTS]


def result(began: float, compute: float, *, read: float = 0, write: float = 0, cpu: float = 0) -> Result:
    """What a worker returns for a copy it began ``began`` seconds into the job."""
    timings = Timings(started=ORIGIN + began, read=read, compute=compute, write=write, cpu=cpu)
    return Result("t", 0, "g", "k", "chunks", 1, timings, "host:1")


def ledger(workers: int = 2) -> Ledger:
    return Ledger(workers, real_time=True, origin=ORIGIN)


def slot_total(b: Breakdown) -> float:
    return sum(getattr(b, name) for name in SLOT_FIELDS)


def test_a_copys_span_splits_into_start_work_and_handoff() -> None:
    book = ledger(workers=1)
    # Dispatched at 1, begun at 1.5 (its worker was still starting), worked 0.1 + 2 + 0.2.
    book.returned(0, 1.0, 4.0, result(1.5, 2.0, read=0.1, write=0.2), used=True)
    b = book.breakdown(4.5, cores=1, probe=0.3, plan=0.2, coordinator_cpu=0.1)
    assert b.worker_start == pytest.approx(0.5)
    assert (b.read, b.compute, b.write) == pytest.approx((0.1, 2.0, 0.2))
    assert b.handoff == pytest.approx(0.2)
    assert b.idle == pytest.approx(1.0)  # nothing ran before the first dispatch
    assert b.work == pytest.approx(4.0) and b.assembly == pytest.approx(0.5)
    assert slot_total(b) == pytest.approx(b.slots * b.work)
    assert sum(b.seconds().values()) == pytest.approx(0.3 + 0.2 + 4.5)


def test_a_slot_left_with_nothing_to_run_is_tail_and_the_parts_add_up() -> None:
    book = ledger()
    book.returned(0, 0.0, 2.0, result(0.0, 2.0), used=True)
    book.returned(1, 0.0, 4.0, result(0.0, 4.0), used=True)
    book.returned(0, 2.0, 3.0, result(2.0, 1.0), used=True)  # the last task to start
    b = book.breakdown(4.0, cores=2, probe=0.0, plan=0.0, coordinator_cpu=0.0)
    assert b.tail == pytest.approx(1.0)  # slot 0, from 3 to 4
    assert b.idle == pytest.approx(0.0)
    assert slot_total(b) == pytest.approx(2 * 4.0)
    assert b.headline().startswith("0% of 2 cores busy; largest loss: tail 0.50s")


def test_a_slot_waiting_for_work_that_is_not_ready_yet_is_idle() -> None:
    book = ledger()
    book.returned(0, 0.0, 1.0, result(0.0, 1.0), used=True)
    book.returned(1, 0.0, 3.0, result(0.0, 3.0), used=True)
    book.returned(0, 2.0, 3.0, result(2.0, 1.0), used=True)  # its input was ready at 2 only
    b = book.breakdown(3.0, cores=2, probe=0.0, plan=0.0, coordinator_cpu=0.0)
    assert (b.idle, b.tail) == pytest.approx((1.0, 0.0))
    assert slot_total(b) == pytest.approx(2 * 3.0)


def test_copies_whose_work_is_not_used_are_wasted_but_their_cpu_counts() -> None:
    book = ledger()
    book.returned(0, 0.0, 1.0, None, used=False)  # failed
    book.returned(1, 0.0, 2.0, result(0.0, 2.0, cpu=1.5), used=False)  # superseded
    book.returned(0, 1.0, 2.0, result(1.0, 1.0, cpu=1.0), used=True)
    b = book.breakdown(2.0, cores=2, probe=0.0, plan=0.0, coordinator_cpu=0.0)
    assert b.wasted == pytest.approx(3.0)
    assert b.cpu == pytest.approx(2.5)
    assert b.utilisation == pytest.approx(2.5 / (2 * 2.0))


def test_the_breakdown_travels_in_the_last_event_and_back() -> None:
    book = ledger()
    book.returned(0, 0.0, 2.0, result(0.1, 1.8, cpu=1.7), used=True)
    breakdown = book.breakdown(2.5, cores=2, probe=0.1, plan=0.2, coordinator_cpu=0.3)
    event = JobFinished(
        t=2.5, job_id="j", outputs={}, playlist="", wall=2.5, first_segment=2.0,
        duration_out=2.0, frames_out=50, peak_rss_mb=60.0, breakdown=breakdown,
    )  # fmt: skip
    line = json.loads(event.to_json())
    assert line["breakdown"]["tail"] == breakdown.tail
    assert event_from_dict(line) == event
    old = {k: v for k, v in line.items() if k != "breakdown"}  # a journal from before breakdowns
    assert event_from_dict(old) == JobFinished(**{**event.__dict__, "breakdown": None})


def on(worker: str, frames: int, meta: dict[str, int] | None = None) -> Result:
    """A result of ``frames`` frames from ``worker`` (``host:pid``)."""
    timings = Timings(started=ORIGIN, read=0, compute=1, write=0)
    return Result("t", 0, "g", "k", "chunks", frames, timings, worker, meta=meta or {})


def test_kept_work_is_booked_to_the_node_in_the_workers_name() -> None:
    book = ledger()
    book.worked(on("10.0.0.7/3f2a9c1b:41", 25, {"node_cpus": 8, "node_gpus": 1}), 1.5)
    book.worked(on("10.0.0.7/3f2a9c1b:42", 30), 0.5)  # another worker process on that node
    book.worked(on("10.0.0.7/77d0e4aa:41", 20), 2.0)  # another node on the same address
    book.worked(on("sim-3", 10), 0.25)  # a simulated container: no pid
    assert book.nodes == {
        "10.0.0.7/3f2a9c1b": NodeWork(tasks=2, frames=55, worker_seconds=2.0, cpus=8, gpus=1),
        "10.0.0.7/77d0e4aa": NodeWork(tasks=1, frames=20, worker_seconds=2.0),
        "sim-3": NodeWork(tasks=1, frames=10, worker_seconds=0.25),
    }


def test_the_nodes_travel_in_the_last_event_and_back() -> None:
    nodes = {"a/1": NodeWork(2, 50, 1.5, cpus=4), "a/2": NodeWork(1, 25, 0.5, gpus=1)}
    event = JobFinished(
        t=2.5, job_id="j", outputs={}, playlist="", wall=2.5, first_segment=2.0,
        duration_out=2.0, frames_out=50, peak_rss_mb=60.0, worker_seconds=2.0, nodes=nodes,
    )  # fmt: skip
    line = json.loads(event.to_json())
    assert line["nodes"]["a/2"] == {"tasks": 1, "frames": 25, "worker_seconds": 0.5, "cpus": 0, "gpus": 1}
    assert event_from_dict(line) == event
    old = {k: v for k, v in line.items() if k != "nodes"}  # a journal from before nodes
    assert event_from_dict(old) == JobFinished(**{**event.__dict__, "nodes": {}})
