"""The Textual TUI: live per-worker progress of a job, from its event stream or journal."""

from __future__ import annotations

from tui.app import SprocketApp, make_app
from tui.sources import EventSource, JournalSource, LiveSource

__all__ = ["EventSource", "JournalSource", "LiveSource", "SprocketApp", "make_app"]
