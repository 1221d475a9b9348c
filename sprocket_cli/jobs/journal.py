"""The job's journal: every event as one JSON line, flushed as it happens.

The journal is what says a job failed (``sprocket jobs``, ``clean``, ``resume`` read its last
line), and a job fails most surely when its disk is full. So the journal keeps room for its
last lines allocated ahead of its end (:data:`RESERVE`): on Linux, space given to the file
without growing it, which its appends then fill whatever else has taken the disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from sprocket_cli.events import Event, event_from_dict

JOURNAL_NAME = "journal.jsonl"
RESERVE = 16 * 1024
"""Bytes allocated past the journal's end: a failed task's line and the job's failure (under
a kilobyte each) fit many times over."""
_KEEP_SIZE = 1
"""``FALLOC_FL_KEEP_SIZE`` (linux/falloc.h): allocate without changing the file's size."""


def _allocate_ahead(fd: int, offset: int, length: int) -> None:
    """Allocate ``length`` bytes from ``offset`` in ``fd`` without growing the file, if the
    system can (Linux; tmpfs, ext4, xfs, btrfs). Best effort: on a full disk, or without
    ``fallocate``, the journal simply has no reserve."""
    fallocate = _fallocate()
    if fallocate is not None:
        fallocate(fd, _KEEP_SIZE, offset, length)  # -1 on failure: no reserve, and that is all


@functools.cache
def _fallocate() -> Any:
    """libc's ``fallocate`` (os has only ``posix_fallocate``, which grows the file), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):  # a libc without it (musl has it; very old ones not)
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    return call


class Journal:
    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / JOURNAL_NAME
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._reserved_to = 0
        """Offset up to which the file's blocks are allocated (as far as we asked)."""
        self._keep_reserve(os.fstat(self._fd).st_size)

    def append(self, event: Event) -> None:
        """Write ``event`` as one line, whole or not at all: a line torn by a full disk would
        swallow the next one (the job's failure, written once there is room again)."""
        line = (event.to_json() + "\n").encode()
        size = os.fstat(self._fd).st_size
        try:
            done = 0
            while done < len(line):
                done += os.write(self._fd, line[done:])
        except OSError:
            with contextlib.suppress(OSError):
                if os.fstat(self._fd).st_size != size:  # (a truncate frees the reserve too)
                    os.ftruncate(self._fd, size)
            raise
        self._keep_reserve(size + len(line))

    def _keep_reserve(self, size: int) -> None:
        """Top the reserve up to :data:`RESERVE` past ``size`` once half of it is used: one
        call per 8 KiB of events, not one per event."""
        if self._reserved_to - size < RESERVE // 2:
            _allocate_ahead(self._fd, size, RESERVE)
            self._reserved_to = size + RESERVE

    def close(self) -> None:
        os.close(self._fd)

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
