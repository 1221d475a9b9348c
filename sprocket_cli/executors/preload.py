"""Imported once by the local executor's fork server, before it forks any worker: the worker
path and every installed stage, so that each worker starts with them imported (a fork, a few
milliseconds) instead of importing them itself (~0.8 s of CPU each, measured on 2 cores).

The server also ends without the interpreter's teardown: the coordinator waits for it as the
job ends (:func:`~sprocket_cli.executors.forking.closed`), and freeing the modules imported
here one by one took 0.1-0.27 s of that wait, measured. Its workers exit through ``os._exit``
on their own, so the exit handler is the server's alone.
"""

import atexit
import contextlib
import os
import sys
from multiprocessing import forkserver
from types import FrameType

from sprocket_cli.worker import warm


def _quick_exit() -> None:
    """End the fork server now: it asked to stop (its last client closed), nothing is left to
    write but the standard streams, and its children are reaped already."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream: there is nothing to keep
            stream.flush()
    os._exit(0)


def _in_fork_server() -> bool:
    """Whether the fork server's own start is importing this (not a test or a user)."""
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


warm()
if _in_fork_server():
    atexit.register(_quick_exit)
