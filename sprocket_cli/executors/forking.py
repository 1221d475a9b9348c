"""How the local executor starts its worker processes: forked by a fork server (multiprocessing's
``forkserver``) that imported the worker path once (:mod:`sprocket_cli.executors.preload`),
where a fresh interpreter per worker imported it again each time (~0.8 s of CPU each, measured
on 2 cores). The server is a clean single-threaded process, not the coordinator, whose threads
(servers, the TUI) a plain fork would break. The last executor to close stops it.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.context import ForkServerContext, SpawnContext

#: Local executors open in this process: the last to close stops the fork server.
_open = 0
_open_lock = threading.Lock()


def start_method() -> ForkServerContext | SpawnContext:
    """The fork server where the platform has one (Linux, macOS), else spawn (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only the server's first start reads this: one server serves every executor open at once.
    context.set_forkserver_preload(["sprocket_cli.executors.preload"])
    return context


def start_early() -> None:
    """Start the fork server now, where there is one, so that it imports the worker path on
    another core while this process imports the job's, rather than after it."""
    if start_method().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def opened() -> None:
    """An executor opened."""
    global _open
    with _open_lock:
        _open += 1


def closed(context: ForkServerContext | SpawnContext) -> None:
    """An executor closed, its workers gone: the last one stops the fork server."""
    global _open
    with _open_lock:
        _open -= 1
        if _open == 0 and context.get_start_method() == "forkserver":
            _stop_fork_server()


def _stop_fork_server() -> None:
    """Stop the fork server and wait for it, now that no worker of it is left (each holds the
    pipe it watches): its CPU and its workers' then count as this process's children's (time(1),
    a benchmark's getrusage), and nothing of a job outlives its last executor. multiprocessing
    has no public call for it; its own tests use this one."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()
