"""The whole video as one band across the screen: each cell a slice of its time (not a chunk:
a chunk spans several cells on a wide screen, a cell several chunks on a long video), coloured
by the worst state of the chunks in it; the playback position and the edge of the playable
stream marked. It answers at a glance whether playback will stall: the playhead must stay left
of the edge."""

from __future__ import annotations

import itertools

from rich.text import Text
from textual.widgets import Static

from tui.model import CHUNK_STATES, JobView
from tui.widgets.style import STATE_STYLE, Part, fit

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
        cells.append_text(self._legend(view, now, head, self.size.width, width))
        self.update(cells)

    @staticmethod
    def _legend(view: JobView, now: float, head: float | None, width: int, cells: int) -> Text:
        done = sum(1 for c in view.chunks if c == "done")
        total, until, length = len(view.chunks), view.playable_until, view.duration
        # One cell is a slice of time, not a chunk: the legend says how long, as the help does.
        per_cell = f" · a cell is {length / cells:.2g}s" if cells and length else ""
        full: list[Part] = [(f" {done}/{total} chunks done · playable to {until:.1f}s of {length:.1f}s", "")]
        short: list[Part] = [(f" {done}/{total} done · playable {until:.1f}/{length:.1f}s", "")]
        state: list[Part] = []
        if head is not None:
            if until >= length - 1e-6:
                state = [(" · whole video playable", "green")]
            elif view.stalled(now):
                state = [(" · STALLED", "bold white on red")]
            else:
                state = [(f" · {until - head:.1f}s ahead", "green")]
            full.append((f" · ▲ playhead {head:.1f}s", ""))
            short.append((f" · ▲ {head:.1f}s", ""))
        quality: list[Part] = []
        if view.quality:  # --target-vmaf: the range each chunk's encode chose and reached
            crfs, scores = zip(*view.quality.values(), strict=True)
            said = f" · VMAF {min(scores):.1f} to {max(scores):.1f} at crf {min(crfs):g} to {max(crfs):g}"
            quality = [(said, "")]
        # Shorter forms keep the verdict (ahead, STALLED): it is what the strip is for.
        return fit(
            width,
            [*full, *state, *quality, (per_cell, "")],
            [*full, *state, *quality],
            [*full, *state],
            [*short, *state],
        )
