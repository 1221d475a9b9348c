"""Whether a process still runs: for a job's coordinator, an output's lock, a worker's folder;
and a process that must not outlive another."""

from __future__ import annotations

import os
import select
import signal
import threading

#: Seconds between checks of a watched process where there is no pidfd (not Linux).
WATCH_EVERY = 0.5


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (another user's counts; a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    # A killed orphan stays a zombie until its new parent collects it, which some inits do late.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def die_with(pid: int) -> None:
    """SIGKILL this process as soon as process ``pid`` ends (at once if it has), so that a
    killed coordinator's workers stop computing and writing; their ffmpeg die with them (each
    asks the kernel to). A thread waits on a pidfd, which turns readable when ``pid`` exits
    (Linux); elsewhere it looks every :data:`WATCH_EVERY` seconds.

    Not the kernel's parent-death signal: a worker's parent is the fork server, which lives on
    as long as any worker holds the pipe it watches for the coordinator.
    """
    try:
        fd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    except ProcessLookupError:
        fd = None
    if not pid_alive(pid):
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while pid_alive(pid):
                threading.Event().wait(WATCH_EVERY)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="sprocket-die-with", daemon=True).start()
