"""An 80-column terminal: every row keeps what matters (the stage's ends, the chunk, the state,
the pid, the figures of the header, the strip's verdict), elided in the middle, never cut."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import App
from textual.geometry import Region
from textual.widget import Widget

from sprocket_cli.events import (
    Event,
    JobStarted,
    SegmentReady,
    TaskFailed,
    TaskFinished,
    TaskProgress,
    TaskStarted,
)
from tests.tui.conftest import settle
from tui import make_app
from tui.sources import EventSource
from tui.widgets.chunk_strip import ChunkStrip
from tui.widgets.log_pane import LogPane
from tui.widgets.style import elide
from tui.widgets.workers_table import WorkersTable

STAGE = "decode+sharpen+denoise+grade+encode"
HOSTS = ("ip-172-31-44-201.eu-west-1.compute.internal:4242001", "laptop:17")
ERROR = "ffmpeg exited 1: Invalid argument, the reason at the end of a long line"


class Replay(EventSource):
    """Events handed over in one batch, replayed (the job's clock is the last event's)."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events

    @property
    def live(self) -> bool:
        return False

    def batches(self) -> Iterator[list[Event]]:
        yield self.events


def _busy_lambda_job() -> list[Event]:
    """A long video on 1,000 Lambda workers, with a retry and a late segment; at its last event
    (second 4) the viewer, who started at second 1, has caught up with the stream: stalled."""
    starts = [float(i) for i in range(0, 3600, 2)]
    events: list[Event] = [
        JobStarted(
            t=0.0, job_id="20261207-120000-0001", job_dir="/nonexistent", pipeline="my_long_pipespec_name",
            inputs={"input_0": "a-very-long-input-file-name-from-a-camera-card.mp4"}, outputs={},
            chunks=len(starts), tasks=len(starts), workers=1000, executor="lambda", duration=3600.0,
            frames=90000, groups=[STAGE], chunk_starts=starts, memory_mb=3008,
        )
    ]  # fmt: skip
    for slot, worker in enumerate(HOSTS):
        task = f"{STAGE}/c{slot:05d}"
        events += [
            TaskStarted(t=1.0, task_id=task, group=STAGE, chunk=1200 + slot, attempt=2, slot=slot),
            TaskProgress(t=2.0, task_id=task, group=STAGE, chunk=1200 + slot, copy=0, slot=slot,
                         worker=worker, phase="computing", frames=0),
            TaskProgress(t=3.0, task_id=task, group=STAGE, chunk=1200 + slot, copy=0, slot=slot,
                         worker=worker, phase="computing", frames=40),
        ]  # fmt: skip
    events += [
        TaskFailed(t=3.5, task_id=f"{STAGE}/c00003", group=STAGE, chunk=3, attempt=1, error=ERROR,
                   will_retry=True, slot=5),
        TaskFinished(t=4.0, task_id=f"{STAGE}/c00000", group=STAGE, chunk=0, attempt=1, frames=50,
                     worker="w", read=0.1, compute=1.0, write=0.1, slot=6),
        SegmentReady(t=4.0, output="output_0", index=0, start=0.0, duration=2.0, playable_until=2.0,
                     deadline=1.0),
    ]  # fmt: skip
    return events


def lines(widget: Widget) -> list[str]:
    """The text the widget draws now, a line per row."""
    size = widget.size
    return [strip.text for strip in widget.render_lines(Region(0, 0, size.width, size.height))]


def screen(app: App[None]) -> list[str]:
    """The text the user sees, a line per terminal row: widgets as composited, scrollbars
    included (a widget's own lines do not show what a scrollbar covers)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_at_80_columns_no_row_loses_what_matters() -> None:
    app = make_app(Replay(_busy_lambda_job()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        seen = screen(app)
        assert all(len(line) == 80 for line in seen)
        header = next(line for line in seen if line.startswith("worker"))
        assert header.split() == [
            "worker▼",
            "stage",
            "chunk",
            "state",
            "try",
            "elapsed",
            "frames/s",
            "host:pid",
        ]
        for slot, host in enumerate(HOSTS):
            cells = next(line for line in seen if line.startswith(f"w{slot:03d}")).split()
            assert cells[2] == str(1200 + slot) and cells[3] == "computing"
            assert cells[4] == "2" and cells[5] == "3.0s" and cells[6] == "20"  # 40 frames in 2 s
            # Both ends of the stage and of the host survive: decode...encode, host...pid.
            assert cells[1].startswith("decode+") and cells[1].endswith("+encode")
            assert cells[7] == elide(host, len(cells[7])) and cells[7].endswith(host[-5:])
        assert HOSTS[1] in seen[9]  # a short one whole
        assert seen[0].startswith(" sprocket · 20261207-120000-0001 · replay · a-very") and seen[0].endswith(
            "…"
        )
        assert seen[3].startswith(" decode+") and "+encode " in seen[3]  # the stage bar's name

        totals = "\n".join(seen[1:3])
        assert "…" not in totals
        fps = app.view.fps(app.now())
        assert fps == 32.5  # (50 frames done + 2 x 40 reported) / 4 s
        for figure in ("ETA 46:05", "32.5 fr", "2/1000 lambda", "retries 1", "stragglers 0", "$", "1 late"):
            assert figure in totals

        legend = lines(app.query_one(ChunkStrip))[2]
        assert "STALLED" in legend and "1/1800" in legend

        log = " ".join(line.strip() for line in lines(app.query_one(LogPane)))
        assert "the reason at the end of a long line" in log  # wrapped, not cut at 80


async def test_wide_screen_shows_names_whole() -> None:
    app = make_app(Replay(_busy_lambda_job()))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        rows = lines(app.query_one(WorkersTable))[1:3]
        assert STAGE in rows[0] and HOSTS[0] in rows[0] and HOSTS[1] in rows[1]


def test_elide_keeps_both_ends_and_the_width() -> None:
    assert elide("decode+filter+encode", 20) == "decode+filter+encode"
    assert elide("decode+filter+encode", 11) == "decod…ncode"
    assert all(len(elide(HOSTS[0], w)) == w for w in range(1, 40))
