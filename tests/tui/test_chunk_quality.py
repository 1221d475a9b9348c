"""``--target-vmaf``: each chunk's chosen CRF and measured VMAF reach the screen, a log line per
chunk as it finishes and their range beside the chunk strip."""

from __future__ import annotations

from sprocket_cli.events import Event, JobStarted, TaskFinished
from tests.tui.conftest import settle
from tests.tui.test_narrow import Replay, lines
from tui import make_app
from tui.widgets.chunk_strip import ChunkStrip
from tui.widgets.log_pane import LogPane

GROUP = "decode+filter+encode"


def finished(chunk: int, crf: float, vmaf: float) -> TaskFinished:
    result = {"task_id": f"{GROUP}/c{chunk:05d}", "chunk": chunk, "meta": {"crf": crf, "vmaf": vmaf}}
    return TaskFinished(
        t=1.0 + chunk, task_id=f"{GROUP}/c{chunk:05d}", group=GROUP, chunk=chunk, attempt=1, frames=50,
        worker="vm:1", read=0.0, compute=1.0, write=0.0, result=result, slot=chunk % 2,
    )  # fmt: skip


async def test_each_chunks_crf_and_vmaf_are_shown() -> None:
    started = JobStarted(
        t=0.0, job_id="j", job_dir="/nonexistent", pipeline="filter", inputs={}, outputs={}, chunks=3,
        tasks=3, workers=2, executor="local", duration=6.0, frames=150, groups=[GROUP],
        chunk_starts=[0.0, 2.0, 4.0],
    )  # fmt: skip
    events: list[Event] = [started, finished(0, 24, 93.41), finished(1, 27.5, 92.86), finished(2, 21, 94.02)]
    app = make_app(Replay(events))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        strip = " ".join(lines(app.query_one(ChunkStrip)))
        assert "VMAF 92.9 to 94.0 at crf 21 to 27.5" in strip
        log = " ".join(line.strip() for line in lines(app.query_one(LogPane)))
        for said in ("chunk 0: crf 24 gives VMAF 93.41", "chunk 1: crf 27.5 gives VMAF 92.86"):
            assert said in log


async def test_without_a_target_the_strip_says_nothing_of_vmaf() -> None:
    started = JobStarted(
        t=0.0, job_id="j", job_dir="/nonexistent", pipeline="filter", inputs={}, outputs={}, chunks=1,
        tasks=1, workers=1, executor="local", duration=2.0, frames=50, groups=[GROUP], chunk_starts=[0.0],
    )  # fmt: skip
    plain = TaskFinished(
        t=1.0, task_id=f"{GROUP}/c00000", group=GROUP, chunk=0, attempt=1, frames=50, worker="vm:1",
        read=0.0, compute=1.0, write=0.0, result={"chunk": 0, "meta": {}}, slot=0,
    )  # fmt: skip
    app = make_app(Replay([started, plain]))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert "VMAF" not in " ".join(lines(app.query_one(ChunkStrip)))
