"""Errors, retries, stragglers and job news, newest last."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from tui.model import LOG_LINES, JobView

LEVEL_STYLE = {"info": "", "warn": "yellow", "error": "bold red"}


class LogPane(RichLog):
    def __init__(self, **kwargs: object) -> None:
        # Wrapped, not cut: the end of an error line (the reason) is what an 80-column user needs.
        super().__init__(max_lines=LOG_LINES, wrap=True, markup=False, highlight=False, **kwargs)  # type: ignore[arg-type]
        self.shown = 0

    def show(self, view: JobView) -> None:
        new = view.logged - self.shown
        if new <= 0:
            return
        for line in list(view.log)[-min(new, len(view.log)) :]:
            self.write(Text(f"{line.t:7.1f}s  {line.text}", style=LEVEL_STYLE[line.level]))
        self.shown = view.logged
