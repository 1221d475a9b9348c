"""Run tasks on local worker processes: one process per slot, each watched by a thread.

A worker that dies (killed, out of memory) fails only the task it was running: its slot starts
a fresh process, and the other slots' workers and tasks carry on. (A ProcessPoolExecutor breaks
as a whole instead, failing every task running beside the dead one.) Workers die with the
coordinator, and their ffmpeg with them, so that a killed coordinator leaves nothing running.

Workers are forked by a fork server that imported the worker path once (:mod:`.forking`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import ClassVar

from sprocket_cli.executors.base import Executor, drain
from sprocket_cli.executors.forking import closed, opened, start_method
from sprocket_cli.processes import die_with, pid_alive
from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.tasks import Progress, Result, Task

#: Most workers per core. ffmpeg keeps a core busy, so more than one per core only helps while
#: tasks wait on storage or sleep; beyond this, processes just crowd the machine.
WORKERS_PER_CORE = 4

#: Memory one worker needs, MB. Measured peak RSS on a 2 s 1080p chunk (decode, hue=s=0,
#: libx264 veryfast, the default): 280 MB with 1 ffmpeg thread (the worker's Python ~40-60 MB,
#: its ffmpeg ~240 MB), 340 MB with 2. The cap binds where workers outnumber cores, so each
#: task gets one thread. Slower presets take more (medium: ~480 MB); should memory still run
#: out, the kernel kills one worker, which costs only its task (retried).
WORKER_MB = 300

#: Seconds a worker told to stop gets to finish before it is killed.
STOP_GRACE = 10.0

#: Prefix of a worker's own temporary folder, followed by ``<host>-<pid>-``: every temporary
#: file of its tasks goes in there, so a later coordinator can tell a killed worker's leftovers.
WORKER_DIR = "sprocket-worker-"


class WorkerDied(RuntimeError):
    """The worker process running a task ended without a result (killed, out of memory)."""


@dataclass(frozen=True)
class WorkerLimit:
    count: int
    """The most local workers this machine takes."""
    reason: str
    """What sets it, for the notice when a job asks for more."""


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def available_mb() -> int | None:
    """Memory available for new processes, MB (Linux: MemAvailable, within a cgroup's limit);
    None where the OS does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            free = next(int(ln.split()[1]) // 1024 for ln in f if ln.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    # In a container, the machine's figure overstates what the cgroup (v2) lets us use.
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            cap = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read())
        return free if cap == "max" else max(0, min(free, (int(cap) - used) // 2**20))
    except (OSError, ValueError):
        return free


def worker_limit() -> WorkerLimit:
    cores = usable_cores()
    by_cores = WORKERS_PER_CORE * cores
    free = available_mb()
    if free is not None and free // WORKER_MB < by_cores:
        return WorkerLimit(max(1, free // WORKER_MB), f"~{WORKER_MB} MB each of {free} MB available")
    return WorkerLimit(by_cores, f"{WORKERS_PER_CORE} per core on {cores} cores")


# -- in a worker process ------------------------------------------------------------------------


def _serve(conn: Connection, coordinator: int, tmp_root: str, env: dict[str, str]) -> None:
    """A worker: run the tasks ``conn`` brings until it brings None or closes.

    ``env``: the coordinator's environment now; a forked worker has the fork server's, as it
    was when the server started (an earlier job's, in a program that runs several).
    """
    die_with(coordinator)
    os.environ.clear()
    os.environ.update(env)
    # The coordinator's temporary folder, not this process's idea of it: it sweeps there.
    home = tempfile.mkdtemp(prefix=f"{_dir_prefix()}{os.getpid()}-", dir=tmp_root)
    tempfile.tempdir = home
    try:
        from sprocket_cli.worker import warm

        warm()
        while (order := conn.recv()) is not None:
            task_json, storage = order
            reply: tuple[str, str | BaseException]
            try:
                reply = ("done", _run(task_json, storage, conn))
            except BaseException as exc:  # every failure is the task's; the coordinator decides
                reply = ("failed", _portable(exc))
            conn.send(reply)
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the coordinator is gone, or Ctrl-C reached the whole process group: it decides
    finally:
        shutil.rmtree(home, ignore_errors=True)
    # Skip the interpreter's teardown, which frees every module one by one (~0.25 s measured,
    # while the coordinator waits for this exit at the end of every job): the pipe's replies
    # are sent already, and nothing else but the standard streams holds anything to write.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run(task_json: str, storage: StorageSpec, conn: Connection) -> str:
    # JSON in and out keeps the boundary the same as Lambda's.
    from sprocket_cli.worker import run_task, throttled

    task = Task.from_json(task_json)
    report = throttled(task, lambda progress: conn.send(("progress", progress)))
    return run_task(task, open_storage(storage), report).to_json()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives the trip to the coordinator, else its text in a RuntimeError."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


# -- in the coordinator -------------------------------------------------------------------------


def _dir_prefix() -> str:
    return f"{WORKER_DIR}{socket.gethostname()}-"


def sweep_leftovers(before: float) -> None:
    """Remove this host's worker folders older than ``before`` whose worker is dead: killed
    workers cannot remove their own (the coordinator was killed, or it was out of memory)."""
    prefix = _dir_prefix()
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        # <prefix><pid>-<mkdtemp's suffix, which has no "-">: not another host whose name
        # merely starts like ours (``vm`` and ``vm-2``).
        pid, _, suffix = entry.name[len(prefix) :].partition("-")
        if not entry.name.startswith(prefix) or not pid.isdigit() or "-" in suffix or pid_alive(int(pid)):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_mtime >= before:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


def _forget(root: str, pid: int) -> None:
    """Remove the folder in ``root`` of our worker ``pid``, which died without removing it."""
    prefix = f"{_dir_prefix()}{pid}-"
    try:
        names = [n for n in os.listdir(root) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)


@dataclass
class _Order:
    task: Task
    storage: StorageSpec
    future: Future[Result]


class _Worker:
    """One worker process and the pipe to it; used by its slot's thread only."""

    def __init__(self, context: ForkServerContext | SpawnContext) -> None:
        here, there = context.Pipe()
        self.tmp_root = tempfile.gettempdir()
        self.process = context.Process(
            target=_serve,
            args=(there, os.getpid(), self.tmp_root, dict(os.environ)),
            daemon=True,
            name="sprocket-worker",
        )
        self.process.start()
        there.close()  # only the worker holds its end now, so its death reads as EOF here
        self.conn = here

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def dead(self) -> bool:
        """Whether the idle worker has died. An idle worker sends nothing, so a readable pipe
        is its end closing: the kernel closes it as the process exits, before the fork server
        has reaped the process and reported it on the sentinel (the sentinel alone lags)."""
        # Not waitpid: multiprocessing may reap a child from any thread.
        return bool(wait([self.conn, self.process.sentinel], 0))

    def run(self, order: _Order, reports: queue.SimpleQueue[Progress]) -> bool:
        """Run ``order`` and settle its future; False if the worker died doing it."""
        try:
            self.conn.send((order.task.to_json(), order.storage))
            while True:
                wait([self.conn, self.process.sentinel])
                if not self.conn.poll():  # what it sent before dying is read first
                    break
                kind, body = self.conn.recv()
                if kind == "progress":
                    reports.put(body)
                    continue
                if kind == "done":
                    order.future.set_result(Result.from_json(body))
                else:
                    order.future.set_exception(body)
                return True
        except (EOFError, OSError):
            pass  # the pipe broke: the worker died
        except Exception as exc:  # a reply that does not load: the pipe is out of step now
            order.future.set_exception(exc)
            self.stop(grace=0)
            return False
        order.future.set_exception(WorkerDied(f"worker process {self.pid} terminated abruptly{self._how()}"))
        self.stop()
        return False

    def _how(self) -> str:
        # Its end of the pipe closes as it exits: the exit status follows at once.
        if not wait([self.process.sentinel], STOP_GRACE):
            return ""
        self.process.join()
        code = self.process.exitcode
        if code is None:
            return ""
        if code < 0:
            return f" (killed by {signal.Signals(-code).name})"
        return f" (exit code {code})"

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Ask the worker to exit, kill it if it does not, and remove what it left."""
        with contextlib.suppress(OSError):  # it is gone already
            self.conn.send(None)
        if not wait([self.process.sentinel], grace):
            self.process.kill()
        self.process.join()
        self.conn.close()
        _forget(self.tmp_root, self.pid)


class LocalExecutor(Executor):
    NAME: ClassVar[str] = "local"

    def __init__(self, workers: int) -> None:
        self.asked = workers
        self.limit = worker_limit()
        super().__init__(min(workers, self.limit.count))
        sweep_leftovers(time.time())
        self._context = start_method()
        opened()
        self._orders: queue.SimpleQueue[_Order | None] = queue.SimpleQueue()
        self._reports: queue.SimpleQueue[Progress] = queue.SimpleQueue()
        self._closed = False
        # Each slot's thread starts its worker: the kernel's parent-death signal follows the
        # thread that started a process, and these threads outlive their workers.
        self._slots = [
            threading.Thread(target=self._slot, name=f"sprocket-slot-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for slot in self._slots:
            slot.start()

    @property
    def capped(self) -> str | None:
        """A one-line notice if the job asked for more workers than this machine takes."""
        if self.workers >= self.asked:
            return None
        return f"--workers {self.asked} capped to {self.workers}: {self.limit.reason}"

    def _start(self) -> _Worker | Exception:
        try:
            return _Worker(self._context)
        except Exception as exc:  # out of processes or memory: this slot's tasks fail (retried)
            return exc

    def _slot(self) -> None:
        """Feed one worker process the queue's orders, replacing it when it dies."""
        worker = self._start()  # at once, so that it warms up while the coordinator plans
        while (order := self._orders.get()) is not None:
            if not order.future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            if isinstance(worker, _Worker) and worker.dead():
                worker.stop()  # died while idle: no task lost, only the process
                worker = self._start()
            elif isinstance(worker, Exception):
                worker = self._start()  # maybe there is room again
            if isinstance(worker, Exception):
                order.future.set_exception(worker)
            elif not worker.run(order, self._reports):
                worker = self._start()  # now, so that it is warm for the retry
        if isinstance(worker, _Worker):
            worker.stop()

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        if self._closed:
            raise RuntimeError("the local executor is closed")
        future: Future[Result] = Future()
        self._orders.put(_Order(task, storage, future))
        return future

    def progress(self) -> list[Progress]:
        return drain(self._reports)

    def threads_per_task(self) -> int:
        # Split the cores between concurrent tasks instead of oversubscribing them.
        return max(1, usable_cores() // self.workers)

    def cores(self) -> int:
        return usable_cores()

    def close(self) -> None:
        """Cancel queued tasks, let running ones finish (as a pool's shutdown did), stop workers."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                order = self._orders.get_nowait()
            except queue.Empty:
                break
            if order is not None:
                order.future.cancel()
        for _ in self._slots:
            self._orders.put(None)
        for slot in self._slots:
            slot.join()
        closed(self._context)
