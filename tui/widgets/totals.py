"""The two lines at the top: what the job is doing and what it has cost so far."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import JobView
from tui.widgets.style import Part, clock, fit

STATE_COLOUR = {
    "waiting": "grey62",
    "running": "bright_cyan",
    "paused": "yellow",
    "finished": "green",
    "failed": "red",
    "cancelled": "yellow",
}


class Totals(Static):
    def show(self, view: JobView, now: float) -> None:
        width = self.size.width or self.app.size.width
        badge: Part = (f" {view.state.upper()} ", f"bold black on {STATE_COLOUR[view.state]}")
        started = view.started
        if started is None:
            self.update(fit(width, [badge, ("  waiting for the job to start", "")]))
            return
        # Each line is said in full where it fits, else shorter: an 80-column terminal keeps
        # every figure (the pipeline's name, which the title implies, goes last and goes first).
        elapsed, eta, fps = clock(now), clock(view.eta(now)), f"{view.fps(now):.1f}"
        busy = f"{view.busy()}/{started.workers} {started.executor}"
        first = fit(
            width,
            [badge, (f"  {started.pipeline}", "bold"),
             (f"  {elapsed} elapsed  ETA {eta}  {fps} frames/s  workers {busy}", "")],
            [badge, (f" {elapsed} elapsed  ETA {eta}  {fps} frames/s  workers {busy}  ", ""),
             (started.pipeline, "bold")],
            [badge, (f" {elapsed} ETA {eta} {fps} fr/s {busy} ", ""), (started.pipeline, "bold")],
        )  # fmt: skip
        cost = view.cost()
        retries: Part = (f"  retries {view.retries}", "yellow" if view.retries else "")
        tail: list[Part] = [] if cost is None else [(f"  cost ${cost:.4f}", "bold")]
        late: list[Part] = []
        short_late: list[Part] = []
        if view.deadline_misses:
            late = [(f"  {view.deadline_misses} late segments", "red")]
            short_late = [(f"  {view.deadline_misses} late", "red")]
        second = fit(
            width,
            [(f" {view.worker_seconds:.1f} worker-s  {view.invocations} invocations", ""), retries,
             (f"  stragglers {view.stragglers}", ""), *tail, *late],
            [(f" {view.worker_seconds:.1f} worker-s  {view.invocations} calls", ""), retries,
             (f"  stragglers {view.stragglers}", ""), *tail, *short_late],
        )  # fmt: skip
        self.update(Text("\n").join([first, second]))
