"""The Textual TUI (live per-worker progress). Not built yet: see the TUI issue."""
