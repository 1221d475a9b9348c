"""One suite over every executor: submit, result, progress, failure, crash, retry, capacity, cancel.

Each test names what it needs (:class:`Can`); it is generated for the makers in
:mod:`tests.conformance.executor_makers` that model all of it, so the ids show the matrix.
Tasks are real chunks of the tiny test clip; a *stalled* task waits, before its work, for the
job's cancel key, which is how the tests hold a worker busy for as long as they need, without
sleeping: every wait in the suite is on a future, with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from sprocket_cli.tasks import Fault, Progress, Task
from tests.conformance.executor_makers import DEADLINE, Can, Maker, Rig, describe, executors, processes
from tests.media_checks import facts
from tests.tasks import gray_task

pytestmark = pytest.mark.timeout(900)  # the first Lambda test builds the bundle (pip, once a session)

WORKERS = 2
#: Seconds a stalled task waits for the cancel key: far past any deadline, so only the key ends it.
STALL = 600.0
#: Seconds between looks at the progress of a running task (on the executor's clock).
POLL = 0.05


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    maker: Maker = request.param
    before = processes()
    with maker.build(request, tmp_path, WORKERS) as built:
        rig = replace(built, before=before)
        try:
            yield rig
        finally:
            rig.release()  # a test that failed half-way leaves no stalled task for close() to wait on


def stalled(clip: Path, index: int) -> Task:
    """Chunk ``index``, stalled before its work until the job's cancel key appears."""
    return gray_task(clip, index, Fault(chunk=index, sleep=STALL))


def phases(reports: Iterable[Progress]) -> list[str]:
    """The phases in the order reported, each once (frame counts repeat a phase)."""
    seen: list[str] = []
    for report in reports:
        if not seen or seen[-1] != report.phase:
            seen.append(report.phase)
    return seen


@executors()
def test_submit_gives_each_task_its_result(rig: Rig, clip: Path) -> None:
    tasks = [gray_task(clip, i) for i in (0, 1)]
    futures = [rig.submit(task) for task in tasks]
    rig.settle(futures)
    results = [future.result() for future in futures]
    assert [(r.task_id, r.chunk, r.output_key, r.output_type) for r in results] == [
        (t.task_id, t.chunk.index, t.output_key, "chunks") for t in tasks
    ]
    assert [r.frames for r in results] == [50, 50]
    assert not any(r.superseded for r in results)
    # Whole-file timestamps: the second chunk starts 2 s into the clip.
    assert results[0].start_ticks == 0
    assert results[1].start_ticks == 2 * results[1].timescale > 0


@executors()
def test_an_idle_executor_has_every_worker_free(rig: Rig) -> None:
    assert rig.executor.workers == WORKERS
    assert rig.executor.can_submit()
    assert rig.executor.progress() == []


@executors(Can.OUTPUTS)
def test_the_output_is_stored_once_and_decodes(rig: Rig, clip: Path, tmp_path: Path) -> None:
    task = gray_task(clip, 1)
    first = rig.submit(task)
    rig.settle([first])
    result = first.result()
    assert result.init_key is not None
    stored = rig.storage.get_bytes(result.output_key)
    segment = tmp_path / "segment.mp4"
    segment.write_bytes(rig.storage.get_bytes(result.init_key) + stored)
    got = facts(segment)
    assert (got.frames, got.width, got.height) == (50, 320, 240)
    assert got.max_saturation <= 2  # gray, as the task's filter asked
    # A second copy (a retry, a clone) finds the output stored and leaves it alone.
    again = rig.submit(task)
    rig.settle([again])
    assert again.result().superseded
    assert rig.storage.get_bytes(result.output_key) == stored


@executors(Can.OUTPUTS)
def test_a_failing_task_fails_its_future_and_its_retry_succeeds(rig: Rig, clip: Path) -> None:
    task = gray_task(clip, 0, Fault(chunk=0, fail=1))
    failed = rig.submit(task)
    rig.settle([failed])
    with pytest.raises(Exception, match="injected failure of chunk 0, attempt 1"):
        failed.result()
    assert not rig.storage.exists(task.output_key)
    retry = rig.submit(replace(task, attempt=2))
    rig.settle([retry])
    assert retry.result().frames == 50
    assert rig.storage.exists(task.output_key)


@executors(Can.CRASH)
def test_a_crashed_worker_fails_only_its_task_and_the_retry_succeeds(rig: Rig, clip: Path) -> None:
    task = gray_task(clip, 0, Fault(chunk=0, kill=1))  # the worker process is killed, as by OOM
    crashed, beside = rig.submit(task), rig.submit(gray_task(clip, 1))
    rig.settle([crashed, beside])
    assert crashed.exception() is not None
    assert not rig.storage.exists(task.output_key)
    assert beside.result().frames == 50  # the task on the other worker carried on
    retry = rig.submit(replace(task, attempt=2))
    rig.settle([retry])
    assert retry.result().frames == 50
    assert rig.storage.exists(task.output_key)
    assert rig.executor.can_submit()


@executors(Can.PHASES)
def test_progress_reports_each_phase_of_a_task(rig: Rig, clip: Path) -> None:
    task = gray_task(clip, 0)
    future = rig.submit(task)
    rig.settle([future])
    reports = rig.executor.progress()
    assert {r.task_id for r in reports} == {task.task_id}
    assert phases(reports) == ["reading", "computing", "writing"]
    assert reports[-1].frames == 50
    assert all(r.copy == 0 and r.worker for r in reports)
    assert rig.executor.progress() == []  # each report is handed over once


@executors(Can.PHASES | Can.BACKGROUND)
def test_progress_arrives_while_the_task_runs(rig: Rig, clip: Path) -> None:
    task = stalled(clip, 0)
    future = rig.submit(task)
    seen: list[Progress] = []
    deadline = time.monotonic() + DEADLINE
    while "computing" not in phases(seen):
        assert time.monotonic() < deadline, f"no report of computing in {DEADLINE} s: {seen}"
        # Waiting on the task paces the looks (on the executor's clock, which may be virtual).
        assert not rig.executor.wait([future], timeout=POLL), f"the task ended first; reports: {seen}"
        seen += rig.executor.progress()
    assert phases(seen) == ["reading", "computing"]
    assert {r.task_id for r in seen} == {task.task_id}
    rig.release()
    rig.settle([future])


@executors(Can.BACKGROUND)
def test_can_submit_is_false_while_every_worker_is_busy(rig: Rig, clip: Path) -> None:
    futures = [rig.submit(stalled(clip, i)) for i in range(WORKERS)]
    assert not rig.executor.can_submit()
    assert not any(future.done() for future in futures)  # submit returned while they run
    rig.release()
    rig.settle(futures)
    assert rig.executor.can_submit()


@executors(Can.QUEUE)
def test_queued_tasks_are_cancelled_and_close_leaves_nothing_running(rig: Rig, clip: Path) -> None:
    running = [rig.submit(stalled(clip, i)) for i in range(WORKERS)]
    queued = [rig.submit(gray_task(clip, i)) for i in range(2)]
    assert queued[0].cancel()  # waiting for a worker: cancel() reaches it
    settled = threading.Event()  # (concurrent.futures.wait misses a cancel(): see the next test)
    queued[1].add_done_callback(lambda _: settled.set())
    with ThreadPoolExecutor(1, thread_name_prefix="closer") as closer:
        closing = closer.submit(rig.executor.close)
        # close() cancels what still waits at once, before it waits for the running tasks.
        assert settled.wait(DEADLINE), "close() did not settle the queued task"
        assert queued[1].cancelled()
        rig.release()
        closing.result(timeout=DEADLINE)
    assert all(future.cancelled() for future in queued)
    assert all(future.done() for future in running)
    assert rig.storage.list("stream/") == []  # the stalled tasks stopped; the cancelled never ran
    left = processes() - rig.before
    assert not left, f"still running after close(): {describe(left)}"


#: Seconds ``wait`` may take to hand back a future that is done already.
AT_ONCE = 5.0


@executors(Can.QUEUE)
def test_wait_hands_back_a_cancelled_queued_task_at_once(rig: Rig, clip: Path) -> None:
    running = [rig.submit(stalled(clip, i)) for i in range(WORKERS)]
    queued = rig.submit(gray_task(clip, 0))
    assert queued.cancel()
    # The coordinator does this: it cancels a copy whose twin delivered, then waits on its
    # running futures and expects the cancelled one back (run/coordinator.py: loop).
    assert rig.executor.wait([queued, *running], timeout=AT_ONCE) == {queued}
