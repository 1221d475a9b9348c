"""The header's frames/s and ETA move with the workers' first progress reports, not only once
a task ends."""

from __future__ import annotations

from sprocket_cli.events import JobStarted, TaskFinished, TaskProgress, TaskStarted
from tui.model import JobView


def test_the_header_rate_counts_frames_workers_report_before_their_task_ends() -> None:
    view = JobView()
    view.apply(
        JobStarted(
            t=0.0, job_id="j", job_dir="/tmp/j", pipeline="filter", inputs={}, outputs={}, chunks=2,
            tasks=2, workers=2, executor="local", duration=8.0, frames=200, groups=["decode+filter+encode"],
        )
    )  # fmt: skip
    assert view.fps(1.0) == 0.0 and view.eta(1.0) is None
    group = "decode+filter+encode"
    for slot in (0, 1):
        task = f"t{slot}"
        view.apply(TaskStarted(t=0.5, task_id=task, group=group, chunk=slot, attempt=0, slot=slot))
        view.apply(TaskProgress(t=2.0, task_id=task, group=group, chunk=slot, copy=0, slot=slot,
                                worker=f"w{slot}", phase="computing", frames=25))  # fmt: skip
    assert view.frames_done == 0  # no task has ended
    assert view.fps(2.0) == 25.0  # 50 frames in 2 s
    assert view.eta(2.0) == 6.0  # 150 frames left at 25 frames/s


def test_unfused_stages_count_a_frame_once_and_keep_it_when_the_first_stage_ends() -> None:
    view = JobView()
    view.apply(
        JobStarted(
            t=0.0, job_id="j", job_dir="/tmp/j", pipeline="unfused", inputs={}, outputs={}, chunks=1,
            tasks=2, workers=2, executor="local", duration=4.0, frames=100, groups=["decode", "encode"],
        )
    )  # fmt: skip
    view.apply(TaskStarted(t=0.0, task_id="d0", group="decode", chunk=0, attempt=1, slot=0))
    view.apply(TaskProgress(t=1.0, task_id="d0", group="decode", chunk=0, copy=0, slot=0,
                            worker="w0", phase="computing", frames=0))  # fmt: skip
    view.apply(TaskProgress(t=2.0, task_id="d0", group="decode", chunk=0, copy=0, slot=0,
                            worker="w0", phase="computing", frames=50))  # fmt: skip
    assert view.slots[0].fps(2.0) == 50.0  # the row's rate: 50 frames in 1 s of computing
    assert view.fps(2.0) == 12.5  # half the frames through one of two stages, in 2 s
    view.apply(TaskFinished(t=3.0, task_id="d0", group="decode", chunk=0, attempt=1, frames=100,
                            worker="w0", read=0.1, compute=2.0, write=0.1, slot=0))  # fmt: skip
    # The decode stage is done and encode has not reported: the header keeps what was done.
    assert view.fps(4.0) == 12.5 and view.eta(4.0) == 4.0
