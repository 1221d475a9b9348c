"""The job's journal: every event as one JSON line, flushed as it happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from sprocket_cli.events import Event, event_from_dict

JOURNAL_NAME = "journal.jsonl"


class Journal:
    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / JOURNAL_NAME
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_journal(job_dir: Path) -> Iterator[Event]:
    """The events of a job's journal, skipping a torn last line (the writer was killed)."""
    import json

    with (job_dir / JOURNAL_NAME).open(encoding="utf-8") as f:
        for line in f:
            try:
                yield event_from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
