"""Colours shared by the widgets, so a state looks the same in the table and the strip."""

from __future__ import annotations

from rich.style import Style

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
