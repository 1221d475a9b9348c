"""One suite over every executor that runs real tasks: the same task, the same result."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.inline import InlineExecutor
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Fault, Result
from tests.tasks import gray_task

MAKERS: dict[str, Callable[[int], Executor]] = {"inline": InlineExecutor, "local": LocalExecutor}


@pytest.fixture(params=sorted(MAKERS))
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    with MAKERS[request.param](2) as ex:
        yield ex


def test_runs_tasks_and_writes_their_outputs(executor: Executor, clip: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    futures: list[Future[Result]] = [executor.submit(gray_task(clip, i), storage.spec()) for i in (0, 1)]
    results = [f.result(timeout=120) for f in futures]
    assert [r.chunk for r in results] == [0, 1]
    assert all(r.frames == 50 and not r.superseded for r in results)
    assert storage.exists("stream/seg_00000.m4s") and storage.exists("stream/seg_00001.m4s")
    assert results[0].init_key is not None and storage.exists(results[0].init_key)
    assert results[1].start_ticks > results[0].start_ticks == 0


def test_a_failing_task_fails_its_future(executor: Executor, clip: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    future = executor.submit(gray_task(clip, 0, Fault(chunk=0, fail=1)), storage.spec())
    with pytest.raises(Exception, match="injected failure"):
        future.result(timeout=120)
    assert not storage.exists("stream/seg_00000.m4s")


def test_a_second_copy_is_superseded(executor: Executor, clip: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    first = executor.submit(gray_task(clip, 0), storage.spec()).result(timeout=120)
    again = executor.submit(gray_task(clip, 0), storage.spec()).result(timeout=120)
    assert not first.superseded and again.superseded


def test_capacity(executor: Executor) -> None:
    assert executor.can_submit()
    assert executor.workers == 2
