"""Run tasks on a Ray cluster: the user's own machines (a render farm, a LAN, KubeRay).

Each task is a Ray task that calls the one worker code path (:func:`sprocket_cli.worker.run_task`)
with the task and its result as JSON, the same boundary as Lambda's. Ray's own retries are off:
a task lost with its node fails its future, and the coordinator reruns it like any failed task,
so that the journal shows what reran. Workers' phase reports reach the coordinator through a
small actor on the coordinator's node. The job's runtime environment, set as this module
connects, ships this machine's sprocket and the worker path's dependencies to every node
(executors/ray_runtime.py). Ray is imported with this module, which only the ray backend loads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, ClassVar, TypeVar, cast

import ray
from ray import ObjectRef
from ray.actor import ActorHandle
from ray.exceptions import RayError, RayTaskError, RuntimeEnvSetupError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sprocket_cli.errors import SprocketError
from sprocket_cli.events import NodeWork
from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.ray_runtime import Shipment, ship
from sprocket_cli.storage import Storage, StorageSpec, open_storage
from sprocket_cli.tasks import Progress, Result, Task
from sprocket_cli.worker import warm

T = TypeVar("T")

#: Seconds :meth:`RayExecutor.close` waits for the job's cancelled tasks to end.
CANCEL_GRACE = 10.0
#: Seconds to wait for a cluster's head to answer before calling it absent.
CONNECT_TIMEOUT = 5.0
NO_CLUSTER_HINT = "start one with `ray start --head`, or name its head with --backend-opt address=HOST:PORT"
#: Seconds a call to the progress relay may take (a round trip on one node: about a millisecond;
#: the first waits for the relay to start, about a second).
RELAY_TIMEOUT = 10.0


class TaskLost(RuntimeError):
    """A Ray task ended with its worker process or its node (killed, out of memory, gone)."""


class RayClusterError(SprocketError):
    """No usable Ray cluster at the address (none there, or it has no CPUs)."""

    exit_code = 2


# -- in a Ray worker ----------------------------------------------------------------------------


def _run(task_json: str, storage: StorageSpec, reports: ActorHandle[_Reports]) -> str:
    """One task on a Ray worker; ``reports`` is the job's :class:`_Reports` relay."""
    from sprocket_cli.worker import run_task, throttled

    task = Task.from_json(task_json)
    sent: ObjectRef[None] | None = None
    # Host names do not tell a cluster's nodes apart (they may be one machine): the node's id
    # does. So this worker is ``node:pid`` in its reports and result, not ``host:pid``.
    address: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]  # unannotated in ray
    me = f"{node_name(address, ray.get_runtime_context().get_node_id())}:{os.getpid()}"

    def send(progress: Progress) -> None:
        nonlocal sent
        # Not waited for: a slow relay must not slow the work.
        sent = reports.put.remote(dataclasses.replace(progress, worker=me))

    report = throttled(task, send)

    try:
        return dataclasses.replace(run_task(task, _opened(storage), report), worker=me).to_json()
    finally:
        # A caller's calls reach an actor in order: once the last is in, all are, before the
        # result is back. So a coordinator that has a task's result has its reports too.
        if sent is not None:
            with contextlib.suppress(RayError):  # the relay is gone: only reports are lost
                ray.get(sent, timeout=RELAY_TIMEOUT)


_storages: dict[StorageSpec, Storage] = {}
"""The storages this worker process has opened. A Ray worker serves one job, whose tasks share
its storage: its S3 client, or the object store's actor, found once (a round trip to the
cluster's head), not for every task."""


def _opened(spec: StorageSpec) -> Storage:
    if spec not in _storages:
        _storages[spec] = open_storage(spec)
    return _storages[spec]


class _Reports:
    """Holds workers' progress reports until the coordinator takes them."""

    def __init__(self) -> None:
        self._got: list[Progress] = []

    @ray.method(num_returns=1)  # typed: a handle's ``put.remote`` takes a Progress
    def put(self, report: Progress) -> None:
        self._got.append(report)

    @ray.method(num_returns=1)
    def take(self) -> list[Progress]:
        got, self._got = self._got, []
        return got


# Ray retries tasks whose worker died by itself; the coordinator's retries are counted and
# journalled, so Ray's are off.
_remote_run = ray.remote(max_retries=0, retry_exceptions=False)(_run)
# Loads the worker path and every stage in a new worker while the coordinator plans; Ray keeps
# the process for the job's tasks.
_remote_warm = ray.remote(max_retries=0)(warm)
# No CPU: the relay must not take a slot a task could use.
_RemoteReports = ray.remote(num_cpus=0)(_Reports)


# -- in the coordinator -------------------------------------------------------------------------


_connection = threading.Lock()
_users = 0
_ours: str | None = None
"""The address this module connected the process to (and so disconnects from when done); None
when it did not connect it: a program that imports sprocket may have called ``ray.init`` itself."""
shipment: Shipment | None = None
"""The runtime environment this module's last connection gave its job."""


def connect(address: str) -> None:
    global _users, _ours, shipment
    with _connection:
        if _ours is not None and _ours != address:
            # ray.init holds one cluster per process.
            raise RayClusterError(f"this process works on the Ray cluster at {_ours} now, not {address}")
        if not ray.is_initialized():
            _check_reachable(address)
            try:
                # Every task, actor and probe of the job runs this machine's sprocket, shipped.
                shipment = ship(address)
                # Quiet: the CLI's display is the user's view; task errors come back in futures.
                ray.init(
                    address=address,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                    runtime_env=shipment.env,
                )
            except ConnectionError:
                raise RayClusterError(f"no Ray cluster at {address}: {NO_CLUSTER_HINT}") from None
            except RuntimeEnvSetupError as exc:  # the upload to the cluster failed
                raise RayClusterError(
                    f"cannot ship sprocket to the Ray cluster at {address}: {str(exc).splitlines()[0]}"
                ) from None
            _ours = address
        _users += 1


def _check_reachable(address: str) -> None:
    """Fail at once if nothing answers at ``address``'s HOST:PORT: Ray itself retries for minutes.
    ``auto`` is Ray's to find (it fails at once when there is nothing to find)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise RayClusterError(
            f"no Ray cluster at {address} ({exc.strerror or exc}): {NO_CLUSTER_HINT}"
        ) from None


def disconnect() -> None:
    global _users, _ours
    with _connection:
        _users -= 1
        if _users == 0 and _ours is not None:
            ray.shutdown()
            _ours = None


def node_name(address: str, node_id: str) -> str:
    """A node's name in results and summaries: its address, and its id's start to tell apart
    nodes on one address."""
    return f"{address}/{node_id[:8]}"


def live_nodes() -> list[dict[str, Any]]:
    """Ray's record of each live node (``NodeID``, ``NodeManagerAddress``, ``Resources``...)."""
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]  # ray leaves it unannotated
    return [node for node in nodes if node["Alive"]]


def node_cpus() -> list[int]:
    """CPUs of each live node that has any."""
    cpus = (int(node["Resources"].get("CPU", 0)) for node in live_nodes())
    return [n for n in cpus if n > 0]


def task_options(needs: Mapping[str, float]) -> dict[str, Any]:
    """Ray's options for a task that needs ``needs`` (resource -> amount)."""
    custom = {name: amount for name, amount in needs.items() if name not in ("CPU", "GPU")}
    options: dict[str, Any] = {"resources": custom} if custom else {}
    if "CPU" in needs:
        options["num_cpus"] = needs["CPU"]
    if "GPU" in needs:
        options["num_gpus"] = needs["GPU"]
    return options


def check_resources(address: str, resources: Mapping[str, Mapping[str, float]]) -> None:
    """Fail if no live node has what a stage's tasks need: Ray would hold them forever."""
    nodes = [node["Resources"] for node in live_nodes()]
    for stage, needs in resources.items():
        if not any(all(node.get(name, 0) >= amount for name, amount in needs.items()) for node in nodes):
            wanted = ", ".join(f"{name}:{amount:g}" for name, amount in needs.items())
            raise RayClusterError(f"no node of the Ray cluster at {address} has {wanted} for {stage}")


def run_on_node(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """``fn(*args)`` as one Ray task on one CPU of the connected cluster (a timing run, say)."""
    ref: ObjectRef[T] = ray.remote(num_cpus=1, max_retries=0)(fn).remote(*args)
    return ray.get(ref, timeout=timeout)


class RayExecutor(Executor):
    NAME: ClassVar[str] = "ray"

    def __init__(
        self,
        workers: int,
        address: str,
        env: Mapping[str, str] | None = None,
        resources: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        """``env``: environment variables for the tasks, beside their node's own; ``resources``:
        stage name -> the Ray resources (name -> amount) each task running it needs."""
        self.asked = workers
        self.address = address
        self.resources = dict(resources or {})
        connect(address)
        try:
            nodes = node_cpus()
            if not nodes:
                raise RayClusterError(f"the Ray cluster at {address} has no CPUs for tasks")
            check_resources(address, self.resources)
            self._node_sizes = self._sizes()
            self._unsized = False
            """A result came from a node not in :attr:`_node_sizes`."""
            self.cluster_cpus = sum(nodes)
            # Each task reserves the CPUs its ffmpeg threads use: the cluster's share per worker
            # asked for, but no more than the smallest node has, so that every node can take any task.
            self.cpus_per_task = max(1, min(self.cluster_cpus // workers, min(nodes)))
            super().__init__(min(workers, self.cluster_cpus // self.cpus_per_task))
            # SPREAD: tasks go to the least busy nodes first, not to the coordinator's node
            # until it is full (Ray's default), so that every machine's disk and network work.
            self._options: dict[str, Any] = {"num_cpus": self.cpus_per_task, "scheduling_strategy": "SPREAD"}
            if env:
                # Workers are made for one runtime environment: the warm-up below must share it.
                # Ray adds a task's env_vars to the job's runtime environment (its py_modules stay).
                self._options["runtime_env"] = {"env_vars": dict(env)}
            here = ray.get_runtime_context().get_node_id()
            # On the coordinator's node: a relay on a node that dies would take the reports with it.
            relay = _RemoteReports.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)
            ).remote()
            # Ray types a new actor as "a handle or the class" so that either's attributes check.
            self._reports = cast("ActorHandle[_Reports]", relay)
        except BaseException:
            disconnect()
            raise
        # A new job's workers are new processes (~2 s each to start and load ours): start them
        # now. Each holds a task's CPUs until warm, which a task would wait for anyway.
        self._warming = [_remote_warm.options(**self._options).remote() for _ in range(self.workers)]
        self._running: set[ObjectRef[str]] = set()
        self._group_options: dict[str, dict[str, Any]] = {}
        self._refs = threading.Lock()
        self._closed = False
        self.moved = 0
        """Bytes of task and result JSON that went through Ray (the items go through storage)."""

    @property
    def capped(self) -> str | None:
        """A one-line notice if the job asked for more workers than the cluster has CPUs."""
        if self.workers >= self.asked:
            return None
        return (
            f"--workers {self.asked} capped to {self.workers}: the Ray cluster has {self.cluster_cpus} CPUs"
        )

    def _submit(self, task: Task, storage: StorageSpec) -> Future[Result]:
        if self._closed:
            raise RuntimeError("the ray executor is closed")
        payload = task.to_json()
        ref = _remote_run.options(**self._options_for(task)).remote(payload, storage, self._reports)
        future: Future[Result] = Future()
        # Running from now on: the coordinator submits only while there is room, so Ray starts it
        # at once; a copy that is no longer needed stops by itself, as on the other backends.
        future.set_running_or_notify_cancel()
        with self._refs:
            self._running.add(ref)
            self.moved += len(payload)
        ref.future().add_done_callback(lambda done: self._settle(ref, done, future))
        return future

    def _options_for(self, task: Task) -> dict[str, Any]:
        """Ray's options for ``task``: the job's, and what the stages it runs need (the most any
        of them does, of each resource)."""
        options = self._group_options.get(task.group)
        if options is None:
            needs: dict[str, float] = {}
            for call in task.stages:
                for name, amount in self.resources.get(call.stage, {}).items():
                    needs[name] = max(amount, needs.get(name, 0.0))
            options = self._group_options[task.group] = {**self._options, **task_options(needs)}
        return options

    def _sizes(self) -> dict[str, dict[str, int]]:
        """Node name -> its CPUs and GPUs, for the results' ``meta``."""
        return {
            node_name(node["NodeManagerAddress"], node["NodeID"]): {
                NodeWork.CPUS_KEY: int(node["Resources"].get("CPU", 0)),
                NodeWork.GPUS_KEY: int(node["Resources"].get("GPU", 0)),
            }
            for node in live_nodes()
        }

    def _described(self, result: Result) -> Result:
        """``result`` with its node's CPUs and GPUs in its ``meta``. A node that joined since the
        job started is looked up at the next :meth:`progress`, not here: this runs in Ray's
        callback thread, where a call to the cluster must not wait."""
        sizes = self._node_sizes.get(result.worker.rpartition(":")[0])
        if sizes is None:
            self._unsized = True
            return result
        return dataclasses.replace(result, meta={**result.meta, **sizes})

    def _settle(self, ref: ObjectRef[str], done: Future[str], future: Future[Result]) -> None:
        with self._refs:
            self._running.discard(ref)
        exc = done.exception()
        if exc is None:
            with self._refs:
                self.moved += len(done.result())
            try:
                future.set_result(self._described(Result.from_json(done.result())))
            except Exception as bad:  # a reply that does not load fails its task, not the job
                future.set_exception(bad)
        elif isinstance(exc, RayTaskError) and isinstance(exc.cause, BaseException):
            future.set_exception(exc.cause)  # the task's own error, without Ray's wrapping
        else:
            # Ray's own words, to the node's address and id: the advice after them is Ray's
            # dashboard and logs, which the user may not have.
            future.set_exception(TaskLost(". ".join(str(exc).split(". ")[:2])))

    def progress(self) -> list[Progress]:
        try:
            if self._unsized:
                self._unsized = False
                self._node_sizes = self._sizes()
            return ray.get(self._reports.take.remote(), timeout=RELAY_TIMEOUT)
        except RayError:  # the relay or the cluster is going down: only reports and sizes are lost
            return []

    def threads_per_task(self) -> int:
        return self.cpus_per_task

    def cores(self) -> int:
        return self.workers * self.cpus_per_task

    def close(self) -> None:
        """Cancel the job's tasks still queued or running, wait for them to end, disconnect."""
        if self._closed:
            return
        self._closed = True
        with self._refs:
            running: list[ObjectRef[Any]] = [*self._warming, *self._running]
        for ref in running:
            # force: end the worker process, and its ffmpeg with it (it dies with its parent).
            ray.cancel(ref, force=True)
        if running:
            ray.wait(running, num_returns=len(running), timeout=CANCEL_GRACE)
        ray.kill(self._reports)
        disconnect()
