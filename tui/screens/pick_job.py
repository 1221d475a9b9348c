"""``sprocket monitor`` with no job running: recent jobs, newest first, to pick one."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from sprocket_cli.jobs.records import JobStatus


class PickJob(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    PickJob { align: center middle; }
    PickJob > Vertical {
        width: 90%; height: 80%; border: thick $primary; padding: 0 1; background: $surface;
    }
    PickJob OptionList { height: 1fr; }
    """
    BINDINGS = [("escape,q", "dismiss(None)", "Quit")]  # noqa: RUF012  # Textual's own shape

    def __init__(self, jobs: list[JobStatus]) -> None:
        super().__init__()
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("No job is running. Pick a job to replay (Enter), or q to quit:")
            yield OptionList(
                *(
                    Option(
                        f"{j.record.job_id}  {j.state:<11} {j.tasks_done}/{j.tasks_total} tasks  "
                        f"{', '.join(j.record.inputs.values())}",
                        id=str(j.job_dir),
                    )
                    for j in self.jobs
                )
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(event.option.id or ""))
