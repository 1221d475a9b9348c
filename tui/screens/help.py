"""``?``: what each key does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """[b]o[/b]  open the stream in the browser (or --player) as soon as a segment is ready
[b]c[/b]  cancel the job (asks first); `sprocket resume` picks it up later
[b]p[/b]  pause / resume dispatching new tasks (running ones finish)
[b]f[/b]  filter the workers table (Enter keeps it, Escape clears it)
[b]s[/b]  sort the workers table: worker, state, chunk, elapsed
[b]↑ ↓ PgUp PgDn[/b]  scroll the workers table
[b]q[/b]  quit (a job you attached to keeps running; a job this TUI runs asks first)

Workers table states: starting, reading, computing, writing, done, failed, retrying,
superseded (a faster copy delivered), timed out.
Chunk strip: the video's length across the screen, each cell a slice of time coloured by
the worst state of the chunks in it; ▲ is where a viewer who started on the first segment is
now, ┃ the end of the playable stream. ▲ past ┃ means playback stalls."""


class Help(ModalScreen[None]):
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > Vertical {
        width: 90%; max-width: 96; height: auto; border: thick $primary; padding: 1 2; background: $surface;
    }
    """
    BINDINGS = [("escape,q,question_mark", "dismiss", "Close")]  # noqa: RUF012  # Textual's own shape

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(KEYS)
