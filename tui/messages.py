"""Messages the background worker posts to the app."""

from __future__ import annotations

from textual.message import Message

from sprocket_cli.events import Event


class EventsArrived(Message):
    """A batch of the job's events, in order."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class SourceEnded(Message):
    """No more events will come: the job ended, or the watched coordinator died."""
