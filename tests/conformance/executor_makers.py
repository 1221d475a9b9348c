"""The executors the conformance suite runs, and what each one models.

Each :class:`Maker` names a backend, builds a :class:`Rig` (the executor, and the storage its
workers write) and says, in a :class:`Can` record, which behaviours the executor models. A test
asks for what it checks with :func:`executors`, and is generated only for the makers that model
all of it: the test ids show which executor runs which test, and nothing is skipped at run time.

Adding a backend is one builder and one line in :data:`MAKERS` (see ``_ray``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import Flag, auto
from pathlib import Path

import psutil
import pytest

from sprocket_cli.executors.aws_lambda import LambdaExecutor, lambda_client
from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.inline import InlineExecutor
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.executors.simulated import CloudModel, SimulatedExecutor
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import CANCEL_KEY
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Result, Task

#: Real seconds any wait in the suite may take before the test fails (not a sleep: waits end
#: as soon as what they wait for happens).
DEADLINE = 120.0


class Can(Flag):
    """Behaviours an executor models; a test runs on the makers that model all it needs."""

    OUTPUTS = auto()
    """Runs the task's real work: its output is in storage afterwards, and a task that raises
    fails its future with the error (the simulated executor runs nothing)."""
    PHASES = auto()
    """Reports progress (reading, computing, writing) for the tasks it runs."""
    CRASH = auto()
    """A task may kill its worker process, and only that task fails (inline runs tasks in the
    test's own process, which the kill would take down)."""
    BACKGROUND = auto()
    """Tasks run while the caller goes on: ``submit`` returns at once, and ``can_submit`` is
    False while every worker is busy (inline runs each task inside ``submit``)."""
    QUEUE = auto()
    """Tasks beyond the workers wait in a queue, where ``cancel()`` and ``close()`` reach them
    (the simulated executor starts every task it is given)."""


@dataclass(frozen=True)
class Rig:
    """An executor under test, and the storage its workers write."""

    executor: Executor
    storage: Storage
    before: frozenset[tuple[int, float]] = frozenset()
    """The processes running before the executor was made (see :func:`processes`)."""

    def submit(self, task: Task) -> Future[Result]:
        return self.executor.submit(task, self.storage.spec())

    def settle(self, futures: Collection[Future[Result]], within: float = DEADLINE) -> None:
        """Wait, through the executor (whose clock may be virtual), until every future is done."""
        deadline = time.monotonic() + within
        pending = set(futures)
        while pending:
            left = deadline - time.monotonic()
            assert left > 0, f"{len(pending)} of {len(futures)} tasks still not done after {within} s"
            pending -= self.executor.wait(pending, timeout=left)

    def release(self) -> None:
        """Tell stalled tasks to stop, as a cancelled job does: workers poll the cancel key."""
        self.storage.put_bytes(CANCEL_KEY, b"")


Build = Callable[[pytest.FixtureRequest, Path, int], AbstractContextManager[Rig]]
"""(the test's request, its tmp folder, workers) -> a context that yields the rig and closes it."""


@dataclass(frozen=True)
class Maker:
    name: str
    """The test id."""
    build: Build
    can: Can


@contextmanager
def _inline(request: pytest.FixtureRequest, tmp: Path, workers: int) -> Iterator[Rig]:
    with InlineExecutor(workers) as executor:
        yield Rig(executor, LocalStorage(tmp / "store"))


@contextmanager
def _local(request: pytest.FixtureRequest, tmp: Path, workers: int) -> Iterator[Rig]:
    with LocalExecutor(workers) as executor:
        yield Rig(executor, LocalStorage(tmp / "store"))


@contextmanager
def _simulated(request: pytest.FixtureRequest, tmp: Path, workers: int) -> Iterator[Rig]:
    with SimulatedExecutor(workers, CloudModel()) as executor:
        yield Rig(executor, LocalStorage(tmp / "store"))


BUCKET = "sprocket-conformance"


@contextmanager
def _lambda(request: pytest.FixtureRequest, tmp: Path, workers: int) -> Iterator[Rig]:
    """The real bundle behind the local Invoke endpoint; S3 is moto's server on loopback."""
    import boto3

    from sprocket_cli.storage.s3 import S3Storage
    from tests.conftest import AwsStandIn
    from tests.lambda_endpoint import LocalLambda
    from tests.lambda_runtime import machine_arch

    aws: AwsStandIn = request.getfixturevalue("aws")
    endpoint: LocalLambda = request.getfixturevalue("local_lambda")
    # The executor's own client (its timeouts, no retries of its own), pointed at the endpoint
    # the way a user's configuration would; S3 stays on moto's server.
    request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint.url)
    boto3.session.Session().client("s3").create_bucket(Bucket=BUCKET)
    client = lambda_client(boto3.session.Session(), aws.region, endpoint.timeout)
    arch = machine_arch()
    with LambdaExecutor(
        workers, endpoint.function, memory_mb=endpoint.memory_mb, arch=arch, client=client
    ) as executor:
        yield Rig(executor, S3Storage(BUCKET, "jobs/conformance"))


@contextmanager
def _ray(request: pytest.FixtureRequest, tmp: Path, workers: int) -> Iterator[Rig]:
    """The session's two-node Ray cluster on loopback (tests/raycluster.py), entered for the test."""
    from sprocket_cli.executors.ray_cluster import RayExecutor
    from tests.raycluster import RayCluster

    cluster: RayCluster = request.getfixturevalue("ray_cluster")
    with cluster.network.inside(), RayExecutor(workers, cluster.address) as executor:
        yield Rig(executor, LocalStorage(tmp / "store"))


MAKERS: tuple[Maker, ...] = (
    Maker("inline", _inline, Can.OUTPUTS | Can.PHASES),
    Maker("local", _local, Can.OUTPUTS | Can.PHASES | Can.CRASH | Can.BACKGROUND | Can.QUEUE),
    # The endpoint runs each invocation to its end and reports nothing on the way: no phases.
    Maker("lambda", _lambda, Can.OUTPUTS | Can.CRASH | Can.BACKGROUND | Can.QUEUE),
    Maker("simulated", _simulated, Can.PHASES | Can.BACKGROUND),
    # A task submitted to Ray is Ray's at once (no queue of ours to cancel it from).
    Maker("ray", _ray, Can.OUTPUTS | Can.PHASES | Can.CRASH | Can.BACKGROUND),
)


def executors(needs: Can | None = None) -> pytest.MarkDecorator:
    """Parametrise a test's ``rig`` over every maker that models all of ``needs``."""
    chosen = [m for m in MAKERS if needs is None or needs in m.can]
    return pytest.mark.parametrize("rig", [pytest.param(m, id=m.name) for m in chosen], indirect=True)


# -- what runs on this machine ------------------------------------------------------------------


def _is_helper(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker: one per interpreter, started with the first spawned
    process and kept for the session; it runs no task."""
    try:
        return "multiprocessing.resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:
        return True  # gone already


def processes() -> frozenset[tuple[int, float]]:
    """This test process's descendants (pid, start time) that are running, helpers aside."""
    found = set()
    for process in psutil.Process().children(recursive=True):
        try:
            if process.status() != psutil.STATUS_ZOMBIE and not _is_helper(process):
                found.add((process.pid, process.create_time()))
        except psutil.Error:
            continue  # ended while we looked
    return frozenset(found)


def describe(pids: Collection[tuple[int, float]]) -> list[str]:
    lines = []
    for pid, _ in pids:
        try:
            lines.append(f"{pid}: {' '.join(psutil.Process(pid).cmdline())[:200]}")
        except psutil.Error:
            lines.append(f"{pid}: (gone)")
    return lines
