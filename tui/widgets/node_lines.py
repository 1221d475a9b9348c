"""A line per node of a job whose workers ran on several (a Ray cluster's): its size, the tasks
it finished, its share of the frames per second and its worker-seconds. Hidden on one machine
and on a service's sandboxes (:meth:`~sprocket_cli.events.NodeWork.apart`)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sprocket_cli.events import NodeWork
from tui.model import JobView
from tui.widgets.style import elide, fit

#: Lines at most; the nodes past the first ones share the last.
MAX_LINES = 3
#: Columns kept for the node's name.
NAME_WIDTH = 20


class NodeLines(Static):
    def show(self, view: JobView, now: float) -> None:
        self.display = NodeWork.apart(view.nodes)
        if not self.display:
            return
        width = self.size.width or self.app.size.width
        busiest = sorted(view.nodes.items(), key=lambda item: -item[1].worker_seconds)
        shown = busiest if len(busiest) <= MAX_LINES else busiest[: MAX_LINES - 1]
        lines = [_line(name, work, now, width) for name, work in shown]
        rest = busiest[len(shown) :]
        if rest:
            tasks = sum(work.tasks for _, work in rest)
            seconds = sum(work.worker_seconds for _, work in rest)
            lines.append(
                fit(width, [(f" +{len(rest)} more nodes  {tasks} tasks  {seconds:.1f} worker-s", "")])
            )
        self.update(Text("\n").join(lines))


def _line(name: str, work: NodeWork, now: float, width: int) -> Text:
    """One node, said shorter where the screen is narrow (80 columns keep every figure)."""
    size = f"{work.cpus} CPU" if work.cpus else ""
    size += f" {work.gpus} GPU" if work.gpus else ""
    rate = work.frames / now if now > 0 else 0.0
    label: tuple[str, str] = (f" {elide(name, NAME_WIDTH):<{NAME_WIDTH}}", "bold")
    seconds = work.worker_seconds
    tasks = f"{work.tasks:>4} {'task ' if work.tasks == 1 else 'tasks'}"
    full = f" {size:<13} {tasks} {rate:>7.1f} frames/s {seconds:>7.1f} worker-s"
    short = f" {size:<11} {tasks} {rate:>6.1f} fr/s {seconds:>6.1f} w-s"
    return fit(width, [label, (full, "")], [label, (short, "")])
