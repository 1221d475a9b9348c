"""One bar per pipeline node group: tasks done of total."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import JobView
from tui.widgets.style import elide

#: Columns kept for the group name before the bar.
NAME_WIDTH = 22
#: After the count of a group whose frames go in order to one worker (a stateful stage).
SERIALIZED_LABEL = " in order, 1 worker"


class StageBars(Static):
    def show(self, view: JobView) -> None:
        rows = []
        for bar in view.stages.values():
            label = SERIALIZED_LABEL if bar.serialized else ""
            width = max(10, self.size.width - NAME_WIDTH - 14 - len(label))
            row = Text(no_wrap=True)
            row.append(f" {elide(bar.name, NAME_WIDTH - 2):<{NAME_WIDTH - 1}}", style="bold")
            if bar.total:
                filled = round(width * bar.done / bar.total)
                row.append("█" * filled, style="green")
                row.append("░" * (width - filled), style="grey35")
                row.append(f" {bar.done:>5}/{bar.total:<5}")
                row.append(label, style="yellow")
            else:  # one task per scene: how many is known only at the end
                row.append(f"{bar.done} done{'' if view.over else ' so far'}")
            rows.append(row)
        self.update(Text("\n", no_wrap=True, overflow="ellipsis").join(rows))
