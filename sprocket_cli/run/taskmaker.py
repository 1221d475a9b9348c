"""Tasks from ready items: which inputs, facts and stages a task carries, and where it writes."""

from __future__ import annotations

import dataclasses

from sprocket_cli.pipeline.delivery import Ready
from sprocket_cli.plan.fusion import Group
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.stragglers.base import Strategy
from sprocket_cli.storage.layout import segment_key, work_key
from sprocket_cli.tasks import ChunkRef, ItemType, LaneInput, Task


def output_key(group: Group, index: int) -> str:
    """Deterministic, so that retries and copies of a task write the same key."""
    outputs = [ep.node for ep in group.outputs if ep.is_output]
    if outputs and group.output_type == "chunks":
        return segment_key(outputs[0], index)
    return work_key(group.name, index, {"chunks": "m4s", "frames": "nut"}.get(group.output_type, "json"))


def partner_task(task: Task) -> Task:
    """The task of ``task``'s gop-pair partner, which ``task``'s worker also delivered."""
    assert task.partner is not None and task.partner_task_id and task.partner_output_key
    return dataclasses.replace(
        task,
        task_id=task.partner_task_id,
        chunk=task.partner,
        output_key=task.partner_output_key,
        partner=None,
        partner_task_id=None,
        partner_output_key=None,
    )


class TaskMaker:
    def __init__(self, run: RunContext, stragglers: Strategy, refs: dict[str, list[ChunkRef]]) -> None:
        self.run = run
        self.stragglers = stragglers
        self.refs = refs
        """input_N -> its chunks, for a gop-pair partner's."""

    def make(self, group: Group, ready: Ready, attempt: int = 1) -> Task:
        job = self.run.job
        # Video on a port is an input (lane) of the task's ffmpeg; facts are its context.
        items = [ready[port] for port in group.ports if ready[port].type != "meta"]
        facts = {port: ready[port].meta or {} for port in group.ports if ready[port].type == "meta"}
        items = items or [ready[port] for port in group.ports]  # a Python stage over a span
        chunk = items[0].chunk
        task = Task(
            job_id=job.job_id,
            task_id=f"{group.name}/c{chunk.index:05d}",
            group=group.name,
            chunk=chunk,
            stages=group.stage_calls,
            output_key=output_key(group, chunk.index),
            output_type=item_type(group.output_type),
            source=items[0].source,
            input_key=items[0].key,
            threads=self.run.executor.threads_per_task(),
            attempt=attempt,
            fault=next((f for f in job.faults if f.chunk == chunk.index), None),
            more=tuple(LaneInput(item.chunk, item.source, item.key) for item in items[1:]),
            context=facts,
        )
        if task.more or task.context or group.inputs[0][1].node in job.staged_inputs:
            return task  # a gop-pair partner would need its own inputs, facts or chunk file
        refs = self.refs.get(group.inputs[0][1].node, [])
        partner = chunk.index ^ 1  # chunks 0+1, 2+3, ... are pairs
        return self.stragglers.pair(
            task,
            refs[partner] if partner < len(refs) else None,
            f"{group.name}/c{partner:05d}",
            output_key(group, partner),
        )


def item_type(port_type: str) -> ItemType:
    """What a group's output is, from its last node's output port type."""
    if port_type == "chunks":
        return "chunks"
    return "frames" if port_type == "frames" else "meta"
