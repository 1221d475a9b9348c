"""Storage in the Ray object store: a job's items held by a named actor on the coordinator's node.

Every node of the cluster reads the items where they are, with no folder they must share and no
bucket: the ray backend's default. The actor, not the task that made an item, owns its Ray object,
so that the item outlives that task, its worker process and its node: a writer sends the bytes to
the actor, which puts them into the object store of its own node. (A writer's own ``ray.put``
would keep the bytes on the writer's node, lost with that node even though its task had
finished.) Under memory pressure Ray spills the objects to that node's disk and reads them back
when asked; they are freed when their key is deleted or when the actor ends, with the
coordinator's connection to the cluster (it is not detached: a coordinator that dies leaves
nothing behind on the cluster, and a resume finds the items gone).

A staged source chunk is named to its tasks by :meth:`RayObjectStorage.url`: an HTTP URL that
the actor serves from the object store, byte ranges and all (ffmpeg seeks in MP4), behind a
random token, on its node's Ray address. A task copies such an item into a local file with one
fetch from the store and ffmpeg reads that (:meth:`RayObjectStorage.local_source`): served to
ffmpeg, each read of a chunk's file took several range requests (4 for a 2 s 1080p chunk
here), each a new thread of the actor pushing the bytes through Python on the coordinator's
node, where the job's other tasks and the coordinator need the CPU. Only an item larger than a
chunk's file (a whole source, staged for tasks that each read a span of it) is read by its
URL, in the ranges ffmpeg needs. Other items are read with :meth:`get_file`.

Ray comes with this module, which only a Ray job (its coordinator and its tasks) loads.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import quote, unquote

import numpy as np
import ray
from ray import ObjectRef
from ray.actor import ActorHandle
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sprocket_cli.storage.base import Storage, StorageSpec

#: Ray namespace of the jobs' stores, fixed: a job's tasks find its store by name whatever
#: namespace their driver was given.
NAMESPACE = "sprocket"
#: Calls the actor serves at once: puts from every worker, and the workers' polls for a cancel.
ACTOR_CALLS = 32
#: Bytes the item server sends at a time.
SEND_PIECE = 1 << 16
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

Bytes = np.ndarray[Any, np.dtype[np.uint8]]


@dataclass(frozen=True)
class Traffic:
    """Bytes through a job's object store, from all of its processes."""

    put: int
    """Bytes stored (a put that lost an exclusive race is not counted)."""
    read: int
    """Bytes handed to readers, and sent over HTTP to ffmpeg (counted as written to the
    socket: a reader that hangs up early may have taken fewer)."""
    served: int
    """HTTP requests for an item's bytes (ffmpeg's reads by URL)."""


def actor_name(job_id: str) -> str:
    return f"sprocket-objects-{job_id}"


class _Objects:
    """Owns a job's items: key -> the Ray object of its bytes (a uint8 array, which
    ``ray.get`` maps from the store without a copy)."""

    def __init__(self) -> None:
        self._refs: dict[str, ObjectRef[Bytes]] = {}
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._put = 0
        self._read = 0
        self._served = 0
        self._server: _Server | None = None

    @ray.method(num_returns=1)
    def put(self, key: str, data: Bytes, exclusive: bool) -> bool:
        with self._lock:
            if exclusive and key in self._refs:
                return False  # no copy made for a loser
        ref = ray.put(data)  # this process owns it, so it outlives the writer
        with self._lock:
            if exclusive and key in self._refs:
                return False  # another writer won while this one copied
            self._refs[key], self._sizes[key] = ref, len(data)
            self._put += len(data)
        return True

    @ray.method(num_returns=1)
    def get(self, key: str, at_most: int | None = None) -> list[ObjectRef[Bytes]] | None:
        """The object of ``key`` (in a list, so that Ray hands the reference over, not the
        bytes: the reader fetches them straight from the store); none if absent. None, and
        nothing read, if it has more than ``at_most`` bytes."""
        with self._lock:
            ref, size = self._refs.get(key), self._sizes.get(key, 0)
            if at_most is not None and size > at_most:
                return None
            self._read += size
        return [] if ref is None else [ref]

    @ray.method(num_returns=1)
    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._refs

    @ray.method(num_returns=1)
    def keys(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(k for k in self._refs if k.startswith(prefix))

    @ray.method(num_returns=1)
    def delete_all(self, prefix: str, exact: bool) -> int:
        """Drop ``prefix`` itself (``exact``) or every key under it: Ray frees an object once
        no reader holds it either."""
        with self._lock:
            keys = [prefix] if exact else [k for k in self._refs if k.startswith(prefix)]
            gone = [k for k in keys if self._refs.pop(k, None) is not None]
            for key in gone:
                del self._sizes[key]
        return len(gone)

    @ray.method(num_returns=1)
    def base_url(self, start: bool = True) -> str:
        """Where the items are served, started on first asking (``start``; else "" until then):
        the actor node's Ray address."""
        with self._lock:
            if self._server is None:
                if not start:
                    return ""
                address: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]  # unannotated in ray
                self._server = _Server(address, self)
        return self._server.base

    @ray.method(num_returns=1)
    def traffic(self) -> Traffic:
        with self._lock:
            return Traffic(self._put, self._read, self._served)

    def view(self, key: str) -> Bytes | None:
        """``key``'s bytes, mapped from the store; None if absent."""
        with self._lock:
            ref = self._refs.get(key)
        return None if ref is None else ray.get(ref)

    def count(self, sent: int) -> None:
        """One HTTP read of an item, which sent ``sent`` bytes."""
        with self._lock:
            self._read += sent
            self._served += 1


# No CPU: the actor must not take a slot a task could use.
_RemoteObjects = ray.remote(num_cpus=0)(_Objects)


class _Server(ThreadingHTTPServer):
    """Serves the actor's items to ffmpeg at ``base/KEY``, on a thread of the actor."""

    daemon_threads = True

    def __init__(self, address: str, objects: _Objects) -> None:
        super().__init__((address, 0), _Handler)
        self.objects = objects
        # The port is open to the cluster's network: only a holder of the URL may read.
        self.token = secrets.token_urlsafe(24)
        host = f"[{address}]" if ":" in address else address
        self.base = f"http://{host}:{self.server_address[1]}/{self.token}"
        threading.Thread(target=self.serve_forever, name="sprocket-objects-http", daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        token, _, key = self.path.lstrip("/").partition("/")
        data = (
            self.server.objects.view(unquote(key))
            if hmac.compare_digest(token.encode(), self.server.token.encode())
            else None
        )
        if data is None:
            self.send_error(404)
            return
        size = len(data)
        first, last = 0, size - 1
        asked = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        if asked is not None and (asked[1] or asked[2]):
            if asked[1]:
                first, last = int(asked[1]), min(int(asked[2] or last), last)
            else:  # the last N bytes
                first = max(0, size - int(asked[2]))
            if first > last:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        if not body:
            return
        # In pieces, counted as they go: ffmpeg asks for the rest of the file and hangs up once
        # it has what it needs (or seeks elsewhere).
        view, sent = data[first : last + 1].data, 0
        try:
            with contextlib.suppress(ConnectionError):
                while sent < len(view):
                    piece = view[sent : sent + SEND_PIECE]
                    self.wfile.write(piece)
                    sent += len(piece)
        finally:
            self.server.objects.count(sent)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a job's display is the user's view."""


_made: dict[tuple[str, str], ActorHandle[_Objects]] = {}
"""The actors this process made, by its connection's Ray job id and their name. An actor ends
when the handle that made it goes (not when the last handle does): kept here, it lives as long
as the connection, whichever copy of the storage is in use."""
_making = threading.Lock()


def _made_here(name: str) -> ActorHandle[_Objects]:
    """The actor ``name`` this process made, made now if it has not yet."""
    key = (ray.get_runtime_context().get_job_id(), name)
    with _making:
        if key not in _made:
            here = ray.get_runtime_context().get_node_id()
            made = _RemoteObjects.options(
                name=name,
                namespace=NAMESPACE,
                get_if_exists=True,
                max_concurrency=ACTOR_CALLS,
                # On the coordinator's node: the items outlive any worker node.
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
            ).remote()
            # Ray types a new actor as "a handle or the class" so that either's attributes check.
            _made[key] = cast("ActorHandle[_Objects]", made)
        return _made[key]


def _found(name: str) -> ActorHandle[_Objects]:
    """The actor ``name`` that the job's coordinator made (in a task)."""
    return cast("ActorHandle[_Objects]", ray.get_actor(name, namespace=NAMESPACE))


class RayObjectStorage(Storage):
    """A job's items in the Ray object store, held by the actor named ``name`` (in the cluster
    this process is connected to). The coordinator's copy makes the actor, on its own node, at
    first use; a worker's (:meth:`reopen`) finds it."""

    NAME: ClassVar[str] = "ray"
    #: Bytes up to which a task copies an item it reads as its source (:meth:`local_source`):
    #: a chunk's file, a few MB. A whole source staged for tasks that each read a span of it
    #: may be gigabytes: copied whole for each task, it would cost more than the ranges read.
    COPY_AT_MOST: ClassVar[int] = 64 << 20

    def __init__(self, name: str, *, create: bool = True) -> None:
        self.name = name
        self._create = create
        self._actor: ActorHandle[_Objects] | None = None
        self._base: str | None = None

    @classmethod
    def reopen(cls, name: str) -> RayObjectStorage:
        return cls(name, create=False)

    @property
    def actor(self) -> ActorHandle[_Objects]:
        if self._actor is None:
            if not ray.is_initialized():
                raise RuntimeError(f"the Ray object storage {self.name} needs this process connected to Ray")
            self._actor = _made_here(self.name) if self._create else _found(self.name)
        return self._actor

    def spec(self) -> StorageSpec:
        return StorageSpec("ray", self.name)

    def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> bool:
        array = np.frombuffer(data, dtype=np.uint8)
        return bool(_answer(self.actor.put.remote(key, array, exclusive)))

    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        array = np.fromfile(path, dtype=np.uint8)
        stored = bool(_answer(self.actor.put.remote(key, array, exclusive)))
        Path(path).unlink()
        return stored

    def _view(self, key: str) -> Bytes:
        found: list[ObjectRef[Bytes]] = _answer(self.actor.get.remote(key))
        if not found:
            raise KeyError(key)
        return ray.get(found[0])

    def get_bytes(self, key: str) -> bytes:
        return self._view(key).tobytes()

    def local_source(self, source: str, dest: str) -> str:
        """A copy at ``dest`` of the item :meth:`url` serves at ``source``, fetched in one piece
        from the object store, unless it is larger than :data:`COPY_AT_MOST`; any other source
        as it is."""
        key = self._key_of(source)
        if key is None:
            return source
        found: list[ObjectRef[Bytes]] | None = _answer(self.actor.get.remote(key, self.COPY_AT_MOST))
        if found is None:
            return source  # large: ffmpeg reads the ranges it needs
        if not found:
            raise KeyError(key)
        ray.get(found[0]).tofile(dest)
        return dest

    def _key_of(self, source: str) -> str | None:
        """The key of the item :meth:`url` names ``source``; None if it names none."""
        if not source.startswith("http://"):
            return None
        if self._base is None:  # asked once, unless the actor serves nothing yet
            self._base = str(_answer(self.actor.base_url.remote(False))) or None
        if self._base is None or not source.startswith(f"{self._base}/"):
            return None
        return unquote(source[len(self._base) + 1 :])

    def get_file(self, key: str, path: str) -> None:
        self._view(key).tofile(path)

    def exists(self, key: str) -> bool:
        return bool(_answer(self.actor.exists.remote(key)))

    def list(self, prefix: str = "") -> list[str]:
        keys: list[str] = _answer(self.actor.keys.remote(prefix))
        return keys

    def delete(self, key: str) -> None:
        _answer(self.actor.delete_all.remote(key, True))

    def delete_all(self, prefix: str) -> int:
        """One call for the whole prefix."""
        return int(_answer(self.actor.delete_all.remote(prefix, False)))

    def url(self, key: str) -> str:
        if self._base is None:
            self._base = str(_answer(self.actor.base_url.remote()))
        return f"{self._base}/{quote(key)}"

    def traffic(self) -> Traffic:
        """Bytes through the store so far, from every process of the job."""
        got: Traffic = _answer(self.actor.traffic.remote())
        return got


def _answer(call: Any) -> Any:
    """What an actor call returns (Ray's stubs type every actor method call as never returning)."""
    return ray.get(call)
