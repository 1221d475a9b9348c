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
from tui.widgets.style import STATE_STYLE, elide

#: (title, width) of each column; a width of 0 marks a column sized to what it holds (the
#: stage, the host), sharing what the fixed ones leave: 50 columns, so 80 leave 30.
COLUMNS = (
    ("worker", 7),
    ("stage", 0),
    ("chunk", 7),
    ("state", 10),
    ("try", 3),
    ("elapsed", 8),
    ("frames/s", 8),
    ("host:pid", 0),
)
#: Stage names longer than this are elided even on a wide screen.
STAGE_MAX = 40
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
    # A one-column scrollbar: at 80 columns every column counts.
    DEFAULT_CSS = "WorkersTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }"
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
        self.needs = (len("stage"), len("host:pid"))
        """Columns the longest stage name and host:pid among the rows want."""

    def show(self, view: JobView, now: float) -> None:
        self.view, self.now = view, now
        rows = list(view.slots.values())
        if self.query_text:
            q = self.query_text.lower()
            rows = [r for r in rows if any(q in c.lower() for c in _cells(r, now))]
        self.order = [r.slot for r in sorted(rows, key=self._key)]
        self.needs = (
            min(STAGE_MAX, max((len(r.group) for r in rows), default=0)),
            max((len(r.worker) for r in rows), default=0),
        )
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
        width = self.scrollable_content_region.width  # without the scrollbar, when one shows
        x = int(self.scroll_offset.x)
        widths = column_widths(width, self.needs)
        if y == 0:  # the header stays put while the rows scroll under it
            sorted_by = "worker" if self.sort == "slot" else self.sort
            titles = [_title(t, w, t == sorted_by) for (t, _), w in zip(COLUMNS, widths, strict=True)]
            return _strip(titles, widths, HEADER, width, x)
        index = int(self.scroll_offset.y) + y - 1
        if self.view is None or index >= len(self.order):
            return Strip.blank(width)
        row = self.view.slots[self.order[index]]
        return _strip(list(_cells(row, self.now)), widths, STATE_STYLE.get(row.state, Style()), width, x)


def column_widths(width: int, needs: tuple[int, int]) -> list[int]:
    """Each column's width on a ``width``-column screen: the fixed ones as set, and the stage
    and host columns given what they need when it fits, else the room shared fairly (the one
    needing less than half keeps its need, the other takes the rest), never under 8."""
    fixed = [w for _, w in COLUMNS]
    room = width - sum(fixed) - (len(COLUMNS) - 1)
    stage_need, host_need = max(needs[0], len("stage")), max(needs[1], len("host:pid"))
    if stage_need + host_need <= room:
        stage, host = stage_need, room - stage_need  # the last column takes the rest
    else:
        stage = max(8, stage_need if stage_need <= room // 2 else room - min(host_need, room // 2))
        host = max(8, room - stage)
    fixed[1], fixed[-1] = stage, host
    return fixed


def _title(title: str, width: int, sorted_by: bool) -> str:
    """A column's title, marked ▼ when the rows are sorted by it; the mark is never cut off."""
    if not sorted_by:
        return title
    return f"{title} ▼" if len(title) + 2 <= width else title[: width - 1] + "▼"


def _strip(cells: list[str], widths: list[int], style: Style, width: int, x: int) -> Strip:
    line = " ".join(elide(c, w).ljust(w) for c, w in zip(cells, widths, strict=True))
    line = line[x : x + width].ljust(width)
    return Strip([Segment(line, style)], width)
