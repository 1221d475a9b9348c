"""The TUI's widgets; each draws one part of a :class:`~tui.model.JobView`."""
