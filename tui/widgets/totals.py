"""The two lines at the top: what the job is doing and what it has cost so far."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import JobView
from tui.widgets.style import clock

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
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {view.state.upper()} ", style=f"bold black on {STATE_COLOUR[view.state]}")
        started = view.started
        if started is None:
            text.append("  waiting for the job to start")
            self.update(text)
            return
        text.append(f"  {started.pipeline}", style="bold")
        text.append(f"  {clock(now)} elapsed  ETA {clock(view.eta(now))}")
        text.append(f"  {view.fps(now):.1f} frames/s")
        text.append(f"  workers {view.busy()}/{started.workers} {started.executor}")
        text.append("\n")
        text.append(f" {view.worker_seconds:.1f} worker-s  {view.invocations} invocations")
        text.append(f"  retries {view.retries}", style="yellow" if view.retries else "")
        text.append(f"  stragglers {view.stragglers}")
        cost = view.cost()
        if cost is not None:
            text.append(f"  cost ${cost:.4f}", style="bold")
        if view.deadline_misses:
            text.append(f"  {view.deadline_misses} late segments", style="red")
        self.update(text)
