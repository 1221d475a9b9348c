"""Colours shared by the widgets, so a state looks the same in the table and the strip."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

STATE_STYLE: dict[str, Style] = {
    "idle": Style(color="grey50"),
    "waiting": Style(color="grey35"),
    "queued": Style(color="grey62"),
    "starting": Style(color="cyan"),
    "retrying": Style(color="yellow", bold=True),
    "throttled": Style(color="yellow"),
    "reading": Style(color="blue"),
    "computing": Style(color="bright_cyan"),
    "running": Style(color="bright_cyan"),
    "writing": Style(color="magenta"),
    "done": Style(color="green"),
    "superseded": Style(color="grey50", italic=True),
    "timed out": Style(color="red"),
    "failed": Style(color="white", bgcolor="red", bold=True),
}


def clock(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03`` for durations; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


#: A piece of a line: its text and its style ("" for none).
Part = tuple[str, str | Style]


def fit(width: int, *variants: list[Part]) -> Text:
    """The first of ``variants`` (longest first, the same facts said shorter) that fits in
    ``width`` columns; the last one, cut with an ellipsis, when none does."""
    chosen = variants[-1]
    for parts in variants:
        if sum(len(text) for text, _ in parts) <= width:
            chosen = parts
            break
    line = Text(no_wrap=True, overflow="ellipsis")
    for text, style in chosen:
        line.append(text, style=style)
    return line


def elide(text: str, width: int) -> str:
    """``text`` in ``width`` columns, cut in the middle: both ends of a stage name
    (``decode+…+encode``) and of a host:pid (the pid) say the most."""
    if len(text) <= width:
        return text
    if width < 3:
        return text[:width]
    head = width // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]
