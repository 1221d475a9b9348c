"""Requests to a job from outside its coordinator: cancel, pause, resume dispatching.

A request is a file in the job folder's ``control/`` directory: the TUI of the job's own
process and ``sprocket monitor`` in another terminal both speak through the one place every
job has, with no socket to find. The coordinator polls the folder
(:class:`ControlPoller`) and passes a cancel on to its workers through storage
(:data:`~sprocket_cli.storage.layout.CANCEL_KEY`), so that running tasks stop too, on any backend.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sprocket_cli.storage.layout import CONTROL

_PAUSE = "pause"

#: Seconds between the coordinator's looks at the control folder (the delay of a request).
POLL_INTERVAL = 0.2


def request_cancel(job_dir: Path) -> None:
    folder = job_dir / CONTROL
    folder.mkdir(exist_ok=True)
    (folder / "cancel").touch()


def request_pause(job_dir: Path, paused: bool) -> None:
    """Stop (``paused``) or restart dispatching new tasks; running tasks carry on."""
    folder = job_dir / CONTROL
    folder.mkdir(exist_ok=True)
    if paused:
        (folder / _PAUSE).touch()
    else:
        (folder / _PAUSE).unlink(missing_ok=True)


def clear_requests(job_dir: Path) -> None:
    """Forget requests made to an earlier run (a resumed job starts unpaused)."""
    shutil.rmtree(job_dir / CONTROL, ignore_errors=True)


@dataclass(frozen=True)
class Requests:
    cancel: bool = False
    paused: bool = False


class ControlPoller:
    """What has been asked of the job, looked up at most every :data:`POLL_INTERVAL` seconds."""

    def __init__(self, job_dir: Path) -> None:
        self.folder = job_dir / CONTROL
        self._checked = float("-inf")
        self._last = Requests()

    def poll(self, now: float) -> Requests:
        if now - self._checked >= POLL_INTERVAL:
            self._checked = now
            self._last = Requests(
                cancel=(self.folder / "cancel").exists(), paused=(self.folder / _PAUSE).exists()
            )
        return self._last
