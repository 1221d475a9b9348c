"""The whole video as one band: a cell per chunk (or per group of chunks on a narrow screen)
coloured by state, the playback position and the edge of the playable stream marked. It
answers at a glance whether playback will stall: the playhead must stay left of the edge."""

from __future__ import annotations

import itertools

from rich.text import Text
from textual.widgets import Static

from tui.model import CHUNK_STATES, JobView
from tui.widgets.style import STATE_STYLE

LABEL = " chunks "
RANK = {state: i for i, state in enumerate(CHUNK_STATES)}


class ChunkStrip(Static):
    def show(self, view: JobView, now: float) -> None:
        width = max(8, self.size.width - len(LABEL) - 1)
        duration = view.duration or 1.0
        cells = Text(LABEL, style="bold", no_wrap=True)
        rank = [RANK[state] for state in view.chunks] or [RANK["waiting"]]
        worst = []
        for col in range(width):
            # Each column covers a slice of video time; it shows the worst chunk state in it.
            lo, hi = duration * col / width, duration * (col + 1) / width
            first, last = view.chunk_at(lo), view.chunk_at(max(lo, hi - 1e-6))
            worst.append(CHUNK_STATES[max(rank[first : last + 1] or rank[-1:])])
        for state, run in itertools.groupby(worst):  # one span per run of a colour: cheap to draw
            cells.append(("█" if state == "done" else "▆") * len(list(run)), style=STATE_STYLE[state])
        marks = [" "] * width
        edge = min(width - 1, int(width * view.playable_until / duration))
        if view.segments:
            marks[edge] = "┃"
        head = view.playhead(now)
        if head is not None:
            marks[min(width - 1, int(width * head / duration))] = "▲"
        marker = Text(" " * len(LABEL) + "".join(marks), no_wrap=True)
        marker.stylize("bold yellow")
        cells.append("\n")
        cells.append_text(marker)
        cells.append("\n")
        cells.append_text(self._legend(view, now, head))
        self.update(cells)

    @staticmethod
    def _legend(view: JobView, now: float, head: float | None) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        done = sum(1 for c in view.chunks if c == "done")
        text.append(f" {done}/{len(view.chunks)} chunks done · playable to {view.playable_until:.1f}s")
        text.append(f" of {view.duration:.1f}s")
        if head is None:
            return text
        text.append(f" · ▲ playhead {head:.1f}s")
        if view.playable_until >= view.duration - 1e-6:
            text.append(" · whole video playable", style="green")
        elif view.stalled(now):
            text.append(" · STALLED", style="bold white on red")
        else:
            text.append(f" · {view.playable_until - head:.1f}s ahead", style="green")
        return text
