"""The monitor: one screen of small widgets over a :class:`~tui.model.JobView`.

Events come from an :class:`~tui.sources.EventSource` iterated on a ``@work(thread=True)``
worker and posted as Messages; the screen redraws from the view at most ``REFRESH_HZ`` times a
second, however fast events arrive. The TUI steers a job only through the core's control
requests (:mod:`sprocket_cli.jobs.control`), never through its executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from sprocket_cli.jobs.control import request_cancel, request_pause
from sprocket_cli.jobs.records import JobStatus
from tui.messages import EventsArrived, SourceEnded
from tui.model import JobView
from tui.screens.confirm import Confirm
from tui.screens.help import Help
from tui.screens.pick_job import PickJob
from tui.sources import EventSource, JournalSource
from tui.widgets.chunk_strip import ChunkStrip
from tui.widgets.log_pane import LogPane
from tui.widgets.node_lines import NodeLines
from tui.widgets.stage_bars import StageBars
from tui.widgets.totals import Totals
from tui.widgets.workers_table import WorkersTable

REFRESH_HZ = 10
#: Opens the stream of the job in this folder; returns a line for the user: what opened, or
#: (starting ``note:``) why nothing did and the URL to open by hand.
Opener = Callable[[Path], str]


class SprocketApp(App[None]):
    TITLE = "sprocket"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #title {
        height: 1; background: $primary-background; color: $text; text-style: bold;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    Totals { height: 2; }
    StageBars { height: auto; max-height: 4; }
    NodeLines { height: auto; max-height: 3; display: none; }
    ChunkStrip { height: 3; }
    WorkersTable { height: 2fr; min-height: 4; }
    LogPane {
        height: 1fr; min-height: 5; max-height: 16; border-top: solid $primary-darken-2; overflow-x: hidden;
    }
    #filter { dock: bottom; display: none; height: 3; }
    #filter.shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_stream", "Open"),
        Binding("c", "cancel", "Cancel"),
        Binding("p", "pause", "Pause"),
        Binding("f", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
    ]

    def __init__(
        self,
        source: EventSource | None,
        *,
        opener: Opener | None = None,
        clock: Callable[[], float] = time.time,
        jobs: list[JobStatus] | None = None,
        auto_open: bool = False,
    ) -> None:
        super().__init__()
        self.source = source
        self.opener = opener
        self.auto_open = auto_open
        """Open the stream by itself when the first segment is ready (``--tui --open``)."""
        self.clock = clock
        """Wall clock (Unix seconds); tests freeze it."""
        self.jobs = jobs or []
        self.view = JobView()
        self.ended = False
        self.quit_when_ended = False
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield Static(" sprocket", id="title")
        yield Totals()
        yield StageBars()
        yield NodeLines()
        yield ChunkStrip()
        yield WorkersTable(id="workers")
        yield LogPane()
        yield Input(
            placeholder="filter workers: text in any column (Enter keeps, Escape clears)", id="filter"
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.redraw)
        self.query_one(WorkersTable).focus()
        if self.source is not None:
            self.follow()
        else:
            self.push_screen(PickJob(self.jobs), self._picked)

    def _picked(self, job_dir: Path | None) -> None:
        if job_dir is None:
            self.exit()
            return
        self.source = JournalSource(job_dir, follow=False)
        self.follow()

    @work(thread=True, exclusive=True, exit_on_error=True)
    def follow(self) -> None:
        assert self.source is not None
        for batch in self.source.batches():
            if batch:
                self.post_message(EventsArrived(batch))
        self.post_message(SourceEnded())

    @on(EventsArrived)
    def fold(self, message: EventsArrived) -> None:
        for event in message.events:
            self.view.apply(event)
        self._dirty = True
        if self.auto_open and self.view.segments:
            self.auto_open = False
            self.action_open_stream()

    @on(SourceEnded)
    def source_ended(self) -> None:
        self.ended = True
        self._dirty = True
        if self.quit_when_ended:
            self.exit()

    # -- drawing -------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the job's clock that the screen shows."""
        view, started = self.view, self.view.started
        if started is None:
            return 0.0
        if view.over or self.source is None or not self.source.live or self.ended:
            # A replay shows the moment asked for (``--at``), or that of its last event.
            moment = self.source.until if isinstance(self.source, JournalSource) else None
            return moment if moment is not None and not view.over else view.last_t
        return max(view.last_t, self.clock() - started.started_at)

    def on_resize(self) -> None:
        self.mark_dirty()  # the header, the strip and the legend are laid out for a width

    def mark_dirty(self) -> None:
        """Redraw at the next tick even if no event arrived (a filter or sort changed)."""
        self._dirty = True

    def redraw(self) -> None:
        if not self._dirty and (self.ended or self.view.over):
            return
        self._dirty = False
        view, now = self.view, self.now()
        started = view.started
        if started is not None:
            mode = "replay" if self.source is not None and not self.source.live else "live"
            inputs = ", ".join(Path(p).name for p in started.inputs.values())
            # The input names go last: on a narrow screen they are what gets cut.
            title = Text(
                f" sprocket · {started.job_id} · {mode} · {inputs}", no_wrap=True, overflow="ellipsis"
            )
            self.query_one("#title", Static).update(title)
        self.query_one(Totals).show(view, now)
        self.query_one(StageBars).show(view)
        self.query_one(NodeLines).show(view, now)
        self.query_one(ChunkStrip).show(view, now)
        self.query_one(WorkersTable).show(view, now)
        self.query_one(LogPane).show(view)

    # -- keys ----------------------------------------------------------------------------

    def _job_dir(self) -> Path | None:
        if self.source is not None and self.source.job_dir is not None:
            return self.source.job_dir
        return Path(self.view.started.job_dir) if self.view.started is not None else None

    def _steerable(self) -> Path | None:
        """The job folder, if the job can still be steered; else say why not."""
        job_dir = self._job_dir()
        if job_dir is None or self.view.over or self.ended or not (self.source and self.source.live):
            self.notify("the job is not running", severity="warning")
            return None
        return job_dir

    def action_open_stream(self) -> None:
        job_dir = self._job_dir()
        if job_dir is None or not self.view.segments:
            self.notify("no segment is playable yet", severity="warning")
            return
        if self.opener is None:
            playlist = self.view.finished.playlist if self.view.finished else "the stream folder"
            self.notify(f"stream: {job_dir / playlist}")
            return
        said = self.opener(job_dir)
        # A URL to copy by hand needs longer on screen than Textual's default few seconds.
        failed = said.startswith("note:")
        self.notify(said, severity="warning" if failed else "information", timeout=20 if failed else 8)

    def action_cancel(self) -> None:
        job_dir = self._steerable()
        if job_dir is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                request_cancel(job_dir)
                self.notify("cancelling: running tasks stop, finished ones are kept")

        self.push_screen(Confirm("Cancel the job? What is finished stays, for `sprocket resume`."), answered)

    def action_pause(self) -> None:
        job_dir = self._steerable()
        if job_dir is None:
            return
        pause = self.view.state != "paused"
        request_pause(job_dir, pause)
        self.notify("pausing: no new tasks start" if pause else "resuming")

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(WorkersTable).query_text = event.value
        self.mark_dirty()
        self.redraw()

    @on(Input.Submitted, "#filter")
    def filter_kept(self) -> None:
        self.query_one(WorkersTable).focus()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#filter", Input)
        if event.key == "escape" and box.has_class("shown"):
            box.value = ""
            box.remove_class("shown")
            self.query_one(WorkersTable).focus()

    def action_sort(self) -> None:
        self.notify(f"sorted by {self.query_one(WorkersTable).next_sort()}")

    def action_help(self) -> None:
        self.push_screen(Help())

    def action_quit_app(self) -> None:
        owned = self.source is not None and self.source.OWNS_JOB
        if not owned or self.ended or self.view.over:
            if self.source is not None:
                self.source.stop()  # stop following; an attached job keeps running
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            job_dir = self._job_dir()
            if yes and job_dir is not None:
                request_cancel(job_dir)
                self.quit_when_ended = True
                self.notify("cancelling the job, then quitting")

        self.push_screen(Confirm("This TUI runs the job: cancel it and quit?"), answered)


def make_app(
    source: EventSource | None,
    *,
    opener: Opener | None = None,
    clock: Callable[[], float] = time.time,
    jobs: list[JobStatus] | None = None,
    auto_open: bool = False,
) -> SprocketApp:
    """The TUI over ``source`` (None: pick one of ``jobs`` first). The CLI and tests call this."""
    return SprocketApp(source, opener=opener, clock=clock, jobs=jobs, auto_open=auto_open)
