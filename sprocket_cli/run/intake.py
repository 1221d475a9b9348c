"""Inputs the workers cannot read where they are (local files, remote workers): cut into chunk
files and uploaded, each chunk routed to its tasks as soon as its upload lands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sprocket_cli.events import ChunkStaged, Event
from sprocket_cli.pipeline.delivery import Item
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.staging import Stager, one_file, reach_back
from sprocket_cli.storage.layout import STAGED
from sprocket_cli.tasks import ChunkRef

#: Where an item goes: (the input it came from, the item) -> the events of routing it.
Route = Callable[[str, Item], Iterator[Event]]


class StagedInputs:
    def __init__(self, run: RunContext, refs: dict[str, list[ChunkRef]]) -> None:
        self.run = run
        self.refs = refs
        self.stagers: list[Stager] = []

    def stage(self, name: str) -> None:
        """Start cutting and uploading input ``name``, each chunk from as far back as a stage reads."""
        job = self.run.job
        info = job.inputs[name]
        look_back = max(node.stage.LOOK_BACK for node in job.plan.spec.nodes)
        chunks = reach_back(job.chunks[name], info.keyframe_pts, look_back)
        if job.plan.span_groups:
            # A task over a scene reads across chunks, from one source: the scene's first
            # chunk's file alone ends a frame or two after that chunk.
            chunks = one_file(chunks)
        self.stagers.append(Stager(name, info.source, chunks, self.run.storage, STAGED))

    @property
    def pending(self) -> bool:
        return any(s.pending for s in self.stagers)

    def take(self, timeout: float | None, route: Route) -> Iterator[Event]:
        """Route the chunks uploaded since the last look (waiting up to ``timeout`` s for one)."""
        run = self.run
        for stager in self.stagers:
            if not stager.pending:
                continue
            for staged in stager.take(timeout):
                yield run.emit(
                    ChunkStaged(
                        t=run.now(),
                        input=staged.input,
                        chunk=staged.chunk,
                        bytes=staged.bytes,
                        seconds=staged.seconds,
                    )
                )
                ref = self.refs[staged.input][staged.chunk].in_time_base(staged.time_base)
                yield from route(staged.input, Item("chunks", ref, source=staged.url))
            timeout = None  # waited on one stager already

    def close(self) -> None:
        for stager in self.stagers:
            stager.close()
