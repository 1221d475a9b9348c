"""Where a job's time goes: each copy's time on its worker slot as it returns, each node's
work as results are kept, and at the end the job's :class:`~sprocket_cli.events.Breakdown`.

Only the coordinator's view is used, so that every executor (local, Lambda, simulated) is
measured alike: a copy holds its slot from dispatch until the coordinator has its result, and
the worker's own timings split that span into starting, reading, computing and writing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_cli.events import Breakdown, NodeWork
from sprocket_cli.tasks import Result

#: The parts of slot time copies spend, as :class:`Breakdown` names them.
_PARTS = ("worker_start", "read", "compute", "write", "handoff", "wasted")


def node_of(worker: str) -> str:
    """The node (machine) in a result's ``worker``: its ``host`` of ``host:pid``, which the Ray
    executor makes the node's name; the whole of an id with no pid (a simulated container)."""
    host, sep, _ = worker.rpartition(":")
    return host if sep else worker


@dataclass(frozen=True)
class _Span:
    start: float
    end: float
    """Seconds on the job's clock."""


class Ledger:
    def __init__(self, workers: int, *, real_time: bool, origin: float) -> None:
        """``origin``: where the job's clock starts on the clock of workers' ``Timings.started``
        (Unix time for real workers; a simulated executor's own)."""
        self.workers = workers
        self.real_time = real_time
        self.origin = origin
        self.spans: list[_Span] = []
        self.top_slot = -1
        self.parts = dict.fromkeys(_PARTS, 0.0)
        self.cpu = 0.0
        """CPU-seconds of every copy that returned a result, used or not: each held a core."""
        self.nodes: dict[str, NodeWork] = {}
        """Node name -> what the results the job kept from it took, in :meth:`worked`."""

    def returned(self, slot: int, dispatched: float, now: float, result: Result | None, used: bool) -> None:
        """A copy held ``slot`` from ``dispatched`` until ``now`` (seconds on the job's clock)
        and returned ``result`` (None: it failed or never started); ``used``: its output is
        the one the job keeps."""
        span = max(0.0, now - dispatched)
        self.spans.append(_Span(dispatched, now))
        self.top_slot = max(self.top_slot, slot)
        if result is not None:
            t = result.timings
            # A virtual worker measures no CPU: it computes flat out for its modelled time.
            self.cpu += t.cpu if self.real_time else t.compute
        if result is None or not used:
            self.parts["wasted"] += span
            return
        t = result.timings
        worked = t.read + t.compute + t.write
        began = t.started - self.origin
        start = min(max(0.0, began - dispatched), max(0.0, span - worked))
        self.parts["worker_start"] += start
        self.parts["read"] += t.read
        self.parts["compute"] += t.compute
        self.parts["write"] += t.write
        self.parts["handoff"] += max(0.0, span - start - worked)

    def worked(self, result: Result, seconds: float) -> None:
        """The job keeps ``result``, which took its worker ``seconds`` (read + compute + write):
        book them to its node."""
        node = node_of(result.worker)
        self.nodes[node] = self.nodes.get(node, NodeWork()).add(result.frames, seconds, result.meta)

    def breakdown(
        self, wall: float, *, cores: int, probe: float, plan: float, coordinator_cpu: float
    ) -> Breakdown:
        """The job's breakdown, now that it has ended ``wall`` seconds after its start."""
        slots = max(self.workers, self.top_slot + 1)
        idle, tail = self._free_time(slots)
        work = max((s.end for s in self.spans), default=0.0)
        return Breakdown(
            slots=slots,
            cores=cores,
            probe=probe,
            plan=plan,
            work=work,
            **self.parts,
            idle=idle,
            tail=tail,
            assembly=max(0.0, wall - work),
            cpu=self.cpu,
            coordinator_cpu=coordinator_cpu,
            utilisation=self.cpu / (cores * wall) if cores and wall > 0 else 0.0,
        )

    def _free_time(self, slots: int) -> tuple[float, float]:
        """Slot-seconds with no copy until the last return: before the last dispatch (idle:
        nothing was ready) and after it (tail: nothing was left)."""
        last_start = max((s.start for s in self.spans), default=0.0)
        changes = sorted([(s.start, 1) for s in self.spans] + [(s.end, -1) for s in self.spans])
        idle = tail = 0.0
        running, then = 0, 0.0
        for at, step in changes:
            free = max(0, slots - running) * (at - then)
            if then < last_start:
                idle += free
            else:
                tail += free
            running += step
            then = at
        return idle, tail
