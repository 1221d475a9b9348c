"""Where the TUI's events come from: the job it runs itself, or a job's journal.

A source is iterated on a worker thread (:meth:`EventSource.batches` blocks); the app turns
each batch into one Message, so a journal of 100,000 events costs a few hundred messages.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, TextIO

from sprocket_cli.events import TERMINAL, Event, JobStarted, event_from_dict
from sprocket_cli.jobs.control import request_cancel
from sprocket_cli.jobs.journal import JOURNAL_NAME
from sprocket_cli.jobs.records import coordinator_alive

#: Events per message when reading a journal that is already written.
BATCH = 2000
#: Seconds between looks at a followed journal that has no new line.
FOLLOW_POLL = 0.1


class EventSource(ABC):
    OWNS_JOB: ClassVar[bool] = False
    """Whether quitting the TUI ends the job (it runs in this process)."""

    def __init__(self) -> None:
        self.job_dir: Path | None = None
        self.error: Exception | None = None
        """What ended the job badly, for the CLI's exit code once the TUI closes."""
        self._stop = threading.Event()

    @abstractmethod
    def batches(self) -> Iterator[list[Event]]:
        """Events in order, in batches, until the job ends or :meth:`stop` is called."""

    @property
    def live(self) -> bool:
        """Whether events arrive as they happen, so the job's clock is the wall clock."""
        return True

    def stop(self) -> None:
        self._stop.set()


class LiveSource(EventSource):
    """The events of a job this process runs (``sprocket filter --tui``)."""

    OWNS_JOB: ClassVar[bool] = True

    def __init__(self, events: Iterator[Event]) -> None:
        super().__init__()
        self.events = events
        self.done = threading.Event()
        """Set once the job's generator has ended (the job is over, whatever the TUI did)."""

    def batches(self) -> Iterator[list[Event]]:
        try:
            for event in self.events:
                if isinstance(event, JobStarted):
                    self.job_dir = Path(event.job_dir)
                yield [event]
        except Exception as exc:  # the CLI re-raises it once the TUI has closed
            # (a failed or cancelled job has journalled it already; a disk or output problem
            # gets the CLI's one-line message and exit code, not a traceback over the screen)
            self.error = exc
        finally:
            self.done.set()

    def stop(self) -> None:
        """The TUI is closing while the job runs: cancel it, and wait until it has stopped."""
        super().stop()
        if self.job_dir is not None and not self.done.is_set():
            request_cancel(self.job_dir)
            self.done.wait()


class JournalSource(EventSource):
    """A job's journal: replayed to its end (or to ``until`` seconds of the job's clock), or
    followed while its coordinator, in another process, still runs (``sprocket monitor``)."""

    def __init__(self, job_dir: Path, *, follow: bool, until: float | None = None) -> None:
        super().__init__()
        self.job_dir = job_dir
        self.follow = follow
        self.until = until

    @property
    def live(self) -> bool:
        return self.follow

    def batches(self) -> Iterator[list[Event]]:
        assert self.job_dir is not None
        path = self.job_dir / JOURNAL_NAME
        while self.follow and not path.exists() and not self._stop.is_set():
            self._stop.wait(FOLLOW_POLL)  # a job that has just started has no journal yet
        if not path.exists():
            return
        with path.open(encoding="utf-8") as f:
            yield from self._read(f)

    def _read(self, f: TextIO) -> Iterator[list[Event]]:
        assert self.job_dir is not None
        pending = ""
        batch: list[Event] = []
        while not self._stop.is_set():
            chunk = f.read(1 << 20)
            if chunk:
                *lines, pending = (pending + chunk).split("\n")  # a line being written waits
                for line in lines:
                    event = _parse(line)
                    if event is None:
                        continue
                    if self.until is not None and event.t > self.until:
                        yield batch
                        return
                    batch.append(event)
                    if isinstance(event, TERMINAL):
                        yield batch
                        return
                    if len(batch) >= BATCH:
                        yield batch
                        batch = []
                continue
            if batch:
                yield batch
                batch = []
            if not self.follow or not coordinator_alive(self.job_dir):
                return  # replayed to the end, or the coordinator died without a last word
            self._stop.wait(FOLLOW_POLL)


def _parse(line: str) -> Event | None:
    try:
        return event_from_dict(json.loads(line))
    except (json.JSONDecodeError, KeyError, TypeError):
        return None  # a torn line of a killed writer
