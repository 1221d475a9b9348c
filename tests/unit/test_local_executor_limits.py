"""The local executor's limits: workers capped by cores and memory, and the temporary folders
of dead workers swept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from sprocket_cli.executors import local
from sprocket_cli.executors.local import (
    WORKER_DIR,
    WORKER_MB,
    WORKERS_PER_CORE,
    LocalExecutor,
    WorkerLimit,
    available_mb,
    sweep_leftovers,
    worker_limit,
)

T = TypeVar("T")

#: Seconds between looks at a condition that a real process brings about.
POLL = 0.05


def _eventually(check: Callable[[], T], within: float = 60.0) -> T:
    """``check()``'s first true value, looked for until ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not so within {within:g}s")
        time.sleep(POLL)  # a poll interval: the loop ends on the condition, not on the time
    return found


def _machine(monkeypatch: pytest.MonkeyPatch, cores: int, free_mb: int | None) -> None:
    monkeypatch.setattr(local, "usable_cores", lambda: cores)
    monkeypatch.setattr(local, "available_mb", lambda: free_mb)


def test_plenty_of_memory_leaves_four_workers_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cores=3, free_mb=64_000)
    assert worker_limit() == WorkerLimit(3 * WORKERS_PER_CORE, f"{WORKERS_PER_CORE} per core on 3 cores")


def test_short_memory_caps_below_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cores=16, free_mb=10 * WORKER_MB + WORKER_MB // 2)
    limit = worker_limit()
    assert limit.count == 10
    assert limit.reason == f"~{WORKER_MB} MB each of {10 * WORKER_MB + WORKER_MB // 2} MB available"


def test_a_machine_short_of_everything_still_runs_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cores=1, free_mb=WORKER_MB // 3)
    assert worker_limit().count == 1


def test_without_a_memory_figure_the_cores_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cores=2, free_mb=None)
    assert worker_limit().count == 2 * WORKERS_PER_CORE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/meminfo")
def test_available_memory_is_this_machines() -> None:
    free = available_mb()
    assert free is not None
    assert 0 < free <= psutil.virtual_memory().total // 2**20


def _spawned_workers() -> list[psutil.Process]:
    """This process's live worker processes: its fork server's children, or those spawned
    (not multiprocessing's resource tracker, nor the fork server itself)."""
    found = []
    for p in psutil.Process().children():
        try:
            command = " ".join(p.cmdline())
            found += p.children() if "forkserver" in command else [p] if "spawn_main" in command else []
        except psutil.Error:
            continue
    alive = []
    for p in found:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.Error:
            continue
    return alive


def test_an_executor_asked_for_too_many_starts_only_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "worker_limit", lambda: WorkerLimit(3, "a test's limit"))
    before = {p.pid for p in _spawned_workers()}
    with LocalExecutor(100_000) as executor:
        assert executor.workers == 3
        assert executor.capped == "--workers 100000 capped to 3: a test's limit"
        assert executor.threads_per_task() >= 1
        # Each slot's thread starts its worker: wait until all three have, then count them.
        _eventually(lambda: len([p for p in _spawned_workers() if p.pid not in before]) >= 3)
        assert len([p for p in _spawned_workers() if p.pid not in before]) == 3


def test_an_executor_within_the_limit_says_nothing() -> None:
    with LocalExecutor(1) as executor:
        assert executor.workers == 1 and executor.capped is None


def _dead_pid() -> int:
    """The pid of a process that has exited and been collected."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait(timeout=30)
    return proc.pid


def test_sweep_removes_old_folders_of_dead_workers_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    host = local.socket.gethostname()
    dead, alive = _dead_pid(), os.getpid()
    start = time.time()
    old = start - 60

    def folder(name: str, mtime: float) -> Path:
        path = tmp_path / name
        (path / "sprocket-task-x").mkdir(parents=True)
        (path / "sprocket-task-x" / "out").write_bytes(b"partial")
        os.utime(path, (mtime, mtime))
        return path

    killed = folder(f"{WORKER_DIR}{host}-{dead}-abc", old)
    running = folder(f"{WORKER_DIR}{host}-{alive}-abc", old)  # a live worker's, of any coordinator
    new = folder(f"{WORKER_DIR}{host}-{dead}-new", start + 60)  # made since this coordinator began
    other_host = folder(f"{WORKER_DIR}elsewhere-{dead}-abc", old)  # another machine's pids
    longer_name = folder(f"{WORKER_DIR}{host}-{dead}-{alive}-abc", old)  # host "<ours>-<n>": not ours
    unrelated = folder("sprocket-task-loose", old)

    sweep_leftovers(start)
    assert not killed.exists()
    assert all(p.exists() for p in (running, new, other_host, longer_name, unrelated))


def test_a_worker_keeps_its_temporaries_in_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with LocalExecutor(1):
        [home] = _eventually(lambda: list(tmp_path.glob(f"{WORKER_DIR}*")))
        pid = int(home.name.removeprefix(f"{WORKER_DIR}{local.socket.gethostname()}-").partition("-")[0])
        assert pid in {p.pid for p in _spawned_workers()}
    assert not home.exists()  # a worker that stops removes its folder
