"""A real Ray cluster for tests: a head and a worker node, both on 127.0.0.1, in a network
namespace of their own.

Outside a namespace Ray listens on the machine's network address even when told 127.0.0.1. In a
new network namespace whose only interface is loopback there is no other address to listen on,
and nothing outside can reach the cluster. The cluster starts once a session, in there; a test
that uses it moves this process's main thread in for its duration (:meth:`Network.inside`), so
that the driver it connects and the ``ss`` it runs are in there too, and the rest of the session
(moto's server, say) stays outside. Needs root, as CI has; without it the tests fail: a backend
that cannot be started here cannot be vouched for.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ray.cluster_utils import Cluster

if TYPE_CHECKING:
    from ray._private.node import Node  # what Cluster.add_node returns

#: setns(2)/unshare(2) flag: the network namespace.
CLONE_NEWNET = 0x40000000
LOOPBACK = "127.0.0.1"
#: CPUs each node offers: one, so that two tasks run at once, one on each node.
NODE_CPUS = 1
#: Seconds for killed processes to go.
GONE_WITHIN = 30.0
USAGE_STATS = "RAY_USAGE_STATS_ENABLED"
# A lost node is noticed within ~1.5 s instead of Ray's default ~30 s (period x threshold).
FAST_HEALTH_CHECKS = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}

_libc = ctypes.CDLL(None, use_errno=True)

#: A ``sitecustomize`` (which Python runs at start, after the site-packages' ``.pth`` files) that
#: takes setuptools' editable-install finder out of the import system again.
HIDE_EDITABLE = """\
import sys

def _editable(hook):
    return getattr(hook, "__module__", "").startswith("__editable__")

sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not _editable(h)]
sys.path[:] = [p for p in sys.path if not p.startswith("__editable__")]
"""


def without_sprocket(folder: Path) -> dict[str, str]:
    """The environment of a node (:meth:`RayCluster.extra_node`) whose Python cannot import
    sprocket, as a machine with only Python and Ray: its PYTHONPATH names ``folder``, given a
    :data:`HIDE_EDITABLE` ``sitecustomize``. Sprocket is installed here editable (``pip install
    -e``), so that finder is all that makes it importable. Its metadata stays visible in
    site-packages; a test that checks what a node imports checks where it found that too."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(HIDE_EDITABLE)
    return {"PYTHONPATH": str(folder)}


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be collected does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class Network:
    """A network namespace with only loopback, up, held open by a file descriptor."""

    def __init__(self) -> None:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"cannot make a network namespace for the Ray tests: {os.strerror(code)}")
            try:
                self.fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
                self.name = os.readlink("/proc/thread-self/ns/net")
                subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            finally:
                _setns(home)
        finally:
            os.close(home)

    @contextmanager
    def inside(self) -> Iterator[None]:
        """This thread, and every process and thread it starts meanwhile, in the namespace."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(self.fd)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

    def processes(self) -> list[int]:
        """Processes in the namespace, but this one (whose main thread visits it)."""
        found = []
        for entry in os.listdir("/proc"):
            try:
                ours = entry.isdigit() and os.readlink(f"/proc/{entry}/ns/net") == self.name
            except OSError:
                continue  # gone, or not ours to look at
            if ours and int(entry) != os.getpid() and _alive(int(entry)):
                found.append(int(entry))
        return found

    def close(self) -> None:
        """Kill every process still in the namespace, and let it go."""
        for pid in self.processes():
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + GONE_WITHIN
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        os.close(self.fd)
        left = self.processes()
        assert not left, f"processes of the Ray tests outlived SIGKILL: {left}"


def listening() -> list[tuple[str, str]]:
    """(local address, process) of every listening TCP or UDP socket in this thread's namespace."""
    # No header; listening; TCP and UDP; numeric addresses; with their processes.
    out = subprocess.run(["ss", "-Hltunp"], capture_output=True, text=True, check=True)
    found = []
    for line in out.stdout.splitlines():
        fields = line.split()  # Netid State Recv-Q Send-Q Local:Port Peer:Port Process
        found.append((fields[4].rpartition(":")[0], " ".join(fields[6:])))
    return found


@dataclass
class RayCluster:
    cluster: Cluster
    network: Network
    temp_dir: str
    workers: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def add_worker(self) -> Node:
        with self.network.inside():
            node = self.cluster.add_node(node_ip_address=LOOPBACK, num_cpus=NODE_CPUS, temp_dir=self.temp_dir)
            self.cluster.wait_for_nodes()
        self.workers.append(node)
        return node

    @contextmanager
    def extra_node(
        self, env: Mapping[str, str] | None = None, resources: Mapping[str, float] | None = None
    ) -> Iterator[Node]:
        """One more worker node, its processes (and so its tasks') environment changed by ``env``:
        a machine installed differently from the others; with custom Ray ``resources`` (a GPU
        box's, say). Gone again at the end, seen gone by the cluster, so that the tests after
        this one find the session's two nodes."""
        with self.network.inside():
            node = self.cluster.add_node(
                node_ip_address=LOOPBACK,
                num_cpus=NODE_CPUS,
                temp_dir=self.temp_dir,
                env_vars=dict(env or {}),
                resources=dict(resources or {}),
            )
            try:
                self.cluster.wait_for_nodes()
                yield node
            finally:
                self.cluster.remove_node(node)
                self.cluster.wait_for_nodes()

    def kill_worker(self, node: Node) -> None:
        """Kill every process of worker node ``node`` at once, as when its machine dies."""
        self.workers.remove(node)
        self.cluster.remove_node(node, allow_graceful=False)

    @staticmethod
    def raylet_pid(node: Node) -> int:
        info: Any = node.all_processes["raylet"][0]
        return int(info.process.pid)


@contextmanager
def loopback_cluster() -> Iterator[RayCluster]:
    """A head and a worker node on 127.0.0.1, each with :data:`NODE_CPUS` CPUs, in a network
    namespace of their own; every process of it killed at the end."""
    network = Network()
    # Short: Ray's unix sockets live in here, and their paths may not pass 107 bytes.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    # Ray notes the head's address in /tmp/ray whatever temp_dir says, and fails when that
    # folder is missing (a fresh machine where nothing started Ray the default way).
    os.makedirs("/tmp/ray", exist_ok=True)
    # Never reports usage home (there is no route out of the namespace either); the nodes inherit it.
    quiet = os.environ.get(USAGE_STATS)
    os.environ[USAGE_STATS] = "0"
    try:
        with network.inside():
            cluster = Cluster(
                initialize_head=True,
                head_node_args={
                    "node_ip_address": LOOPBACK,
                    "num_cpus": NODE_CPUS,
                    "temp_dir": temp,
                    "include_dashboard": False,
                    "_system_config": FAST_HEALTH_CHECKS,
                },
            )
        started = RayCluster(cluster, network, temp)
        try:
            started.add_worker()
            yield started
        finally:
            with network.inside():
                cluster.shutdown()
    finally:
        network.close()
        shutil.rmtree(temp, ignore_errors=True)
        if quiet is None:
            del os.environ[USAGE_STATS]
        else:
            os.environ[USAGE_STATS] = quiet


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """The session's Ray cluster (:func:`loopback_cluster`); a test using it enters its network
    namespace (``with ray_cluster.network.inside(): ...``)."""
    with loopback_cluster() as cluster:
        yield cluster


@pytest.fixture
def cluster(ray_cluster: RayCluster) -> Iterator[RayCluster]:
    """The session's cluster, with this test in its network namespace."""
    with ray_cluster.network.inside():
        yield ray_cluster
