"""What fault injection needs around a real ``sprocket`` run, shared by the fault tests and
``bench.faults``: the run's JSON events read with bounded waits, the processes it leaves,
a tmpfs to fill."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

#: Seconds for parent-death signals to land and the processes to exit.
GONE_WITHIN = 20.0
#: Seconds a job may take to reach what a test waits for (slow CI included).
REACH_WITHIN = 120.0

Event = dict[str, Any]


class NotReached(AssertionError):
    """A run did not get where a fault was to be injected: no such event in time, or it ended
    first. An AssertionError, so that a test fails on it as on any broken expectation."""


class Run:
    """A real ``sprocket`` command in a child process, its JSON events read on a thread so
    that every wait on them is bounded."""

    def __init__(
        self, args: list[str], env: dict[str, str] | None = None, stderr: IO[str] | None = None
    ) -> None:
        # start_new_session=False: the child stays in our process group, so a kill of its pid
        # reaches it alone, as `kill -9 PID` from a shell does, and not its workers.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sprocket_cli", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            start_new_session=False,
        )
        self.events: list[Event] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # the end comes when the last process holding the pipe exits
            for line in self.proc.stdout:
                self._lines.put(line)
        self._lines.put(None)

    def _next(self, deadline: float) -> Event | None:
        """The next event, None at the end of the output."""
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise NotReached(f"no event within the time allowed; last: {self.events[-3:]}") from None
            if line is None:
                return None
            if line.startswith("{"):
                self.events.append(json.loads(line))
                return self.events[-1]

    def until(self, done: Callable[[Event], bool], within: float = REACH_WITHIN) -> Event:
        """Read events up to the first that ``done`` accepts."""
        deadline = time.monotonic() + within
        while (event := self._next(deadline)) is not None:
            if done(event):
                return event
        raise NotReached(f"the run ended first; last events: {self.events[-3:]}")

    def finish(self, within: float = REACH_WITHIN) -> int:
        """Wait for the command to exit, reading the rest of its events; its exit code."""
        code = self.proc.wait(timeout=within)
        deadline = time.monotonic() + within
        while self._next(deadline) is not None:
            pass
        return code

    def kill(self, also: Sequence[psutil.Process] = ()) -> None:
        """Leave nothing of this run behind, whatever the test found."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for p in also:
            if not gone(p):
                p.kill()


def gone(p: psutil.Process) -> bool:
    """Whether ``p`` has exited (a zombie waiting for its new parent to collect it counts)."""
    try:
        return not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(procs: list[psutil.Process], within: float) -> list[psutil.Process]:
    """Those of ``procs`` still running after ``within`` seconds."""
    deadline = time.monotonic() + within
    alive = [p for p in procs if not gone(p)]
    while alive and time.monotonic() < deadline:
        psutil.wait_procs(alive, timeout=0.2)  # returns early as processes exit
        alive = [p for p in alive if not gone(p)]
    return alive


def is_ffmpeg(p: psutil.Process) -> bool:
    try:
        return "ffmpeg" in p.name()
    except psutil.Error:
        return False


def worker_ffmpeg(coordinator: psutil.Process) -> list[psutil.Process]:
    """The ffmpeg processes the coordinator's workers run (not the coordinator's own)."""
    try:
        children = coordinator.children()  # workers, the coordinator's own ffmpeg among them
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            found += [p for p in child.children(recursive=True) if is_ffmpeg(p)]
        except psutil.NoSuchProcess:
            continue
    return found


def describe(procs: list[psutil.Process]) -> list[str]:
    def one(p: psutil.Process) -> str:
        try:
            return f"{p.pid} {p.name()} {' '.join(p.cmdline())[:120]}"
        except psutil.Error:
            return str(p.pid)

    return [one(p) for p in procs]


def wait_for_child(parent: psutil.Process, within: float) -> psutil.Process:
    """``parent``'s first child process, once it has started one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        children = parent.children()
        if children:
            return children[0]
        psutil.wait_procs([parent], timeout=0.05)  # the parent exiting would end the wait early
    raise NotReached(f"{parent.pid} started no child within {within:g}s")


def mount_tmpfs(point: Path, options: str) -> str | None:
    """Mount a fresh tmpfs (``options`` such as ``size=96k``) on the existing folder ``point``;
    None once mounted, else why not (it needs root). Real file systems for the conditions root
    cannot fake with permissions: full, read-only. ``umount`` it when done."""
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, check=False
    )
    return None if made.returncode == 0 else made.stderr.decode().strip()


def umount(point: Path) -> None:
    subprocess.run(["umount", str(point)], check=False)
