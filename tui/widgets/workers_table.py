"""One row per worker slot: what it runs, in which phase, for how long, how fast.

Drawn with Textual's line API (a ``ScrollView`` whose ``render_line`` draws only the rows
on screen), so 1,000 workers cost what the visible 20 cost; sorting and the filter are a
list of slot numbers recomputed per refresh.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.model import JobView, SlotRow
from tui.widgets.style import STATE_STYLE

#: (title, width) of each column; the last one takes the rest of the line.
COLUMNS = (
    ("worker", 6),
    ("stage", 16),
    ("chunk", 6),
    ("state", 10),
    ("try", 3),
    ("elapsed", 7),
    ("frames/s", 8),
    ("host:pid", 24),
)
SORTS = ("slot", "state", "chunk", "elapsed")
HEADER = Style(bold=True, reverse=True)
#: Sorting by state puts trouble first, then work in progress, then the rest.
STATE_ORDER = {
    s: i
    for i, s in enumerate(
        (
            "failed",
            "timed out",
            "retrying",
            "starting",
            "reading",
            "computing",
            "writing",
            "superseded",
            "done",
        )
    )
}


def _cells(row: SlotRow, now: float) -> tuple[str, ...]:
    copy = f"+{row.copy}" if row.copy else ""
    return (
        f"w{row.slot:03d}",
        row.group,
        "" if row.chunk is None else f"{row.chunk}{copy}",
        row.state,
        str(row.attempt or ""),
        f"{row.elapsed(now):.1f}s" if row.state != "idle" else "",
        f"{row.fps(now):.0f}" if row.fps(now) else "",
        row.worker,
    )


class WorkersTable(ScrollView, can_focus=True):
    DEFAULT_CSS = "WorkersTable { height: 1fr; overflow-x: hidden; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # Textual's name
        super().__init__(id=id)
        self.view: JobView | None = None
        self.now = 0.0
        self.query_text = ""
        """Rows shown contain this text in one of their cells (the ``f`` filter)."""
        self.sort = "slot"
        self.order: list[int] = []

    def show(self, view: JobView, now: float) -> None:
        self.view, self.now = view, now
        rows = list(view.slots.values())
        if self.query_text:
            q = self.query_text.lower()
            rows = [r for r in rows if any(q in c.lower() for c in _cells(r, now))]
        self.order = [r.slot for r in sorted(rows, key=self._key)]
        self.virtual_size = Size(self.size.width, len(self.order) + 1)
        self.refresh()

    def _key(self, row: SlotRow) -> tuple[float, ...]:
        if self.sort == "state":
            return (STATE_ORDER.get(row.state, 99), row.slot)
        if self.sort == "chunk":
            return (row.chunk if row.chunk is not None else 1 << 30, row.slot)
        if self.sort == "elapsed":
            return (-row.elapsed(self.now) if row.state != "idle" else 0.0, row.slot)
        return (row.slot,)

    def next_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        if self.view is not None:
            self.show(self.view, self.now)
        return self.sort

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        x = int(self.scroll_offset.x)
        if y == 0:  # the header stays put while the rows scroll under it
            sorted_by = "worker" if self.sort == "slot" else self.sort
            titles = [t + (" ▼" if t == sorted_by else "") for t, _ in COLUMNS]
            return self._strip(titles, HEADER, width, x)
        index = int(self.scroll_offset.y) + y - 1
        if self.view is None or index >= len(self.order):
            return Strip.blank(width)
        row = self.view.slots[self.order[index]]
        return self._strip(list(_cells(row, self.now)), STATE_STYLE.get(row.state, Style()), width, x)

    @staticmethod
    def _strip(cells: list[str], style: Style, width: int, x: int) -> Strip:
        # The stage column grows on wide screens, to show the whole group name.
        widths = [w for _, w in COLUMNS]
        widths[1] = max(widths[1], min(40, width - 64))
        line = " ".join(c[:w].ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
        line = (line + " " + cells[-1])[x : x + width].ljust(width)
        return Strip([Segment(line, style)], width)
