"""One bar per pipeline node group: tasks done of total."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import JobView

#: Columns kept for the group name before the bar.
NAME_WIDTH = 22


class StageBars(Static):
    def show(self, view: JobView) -> None:
        width = max(10, self.size.width - NAME_WIDTH - 14)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, bar in enumerate(view.stages.values()):
            if not bar.total:  # one task per scene: how many is known only at the end
                text.append(f" {bar.name[: NAME_WIDTH - 2]:<{NAME_WIDTH - 1}}", style="bold")
                text.append(f"{bar.done} done{'' if view.over else ' so far'}")
                if i < len(view.stages) - 1:
                    text.append("\n")
                continue
            filled = round(width * bar.done / bar.total)
            text.append(f" {bar.name[: NAME_WIDTH - 2]:<{NAME_WIDTH - 1}}", style="bold")
            text.append("█" * filled, style="green")
            text.append("░" * (width - filled), style="grey35")
            text.append(f" {bar.done:>5}/{bar.total:<5}")
            if i < len(view.stages) - 1:
                text.append("\n")
        self.update(text)
