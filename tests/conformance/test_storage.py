"""One suite over every storage implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sprocket_cli.storage import Storage, open_storage
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.storage.memory import MemoryStorage
from sprocket_cli.storage.s3 import S3Storage


def _s3(request: pytest.FixtureRequest, tmp: Path) -> Storage:
    """A fresh bucket in moto's server over HTTP; keys under a prefix, as a job's are."""
    import boto3

    request.getfixturevalue("aws")
    boto3.client("s3").create_bucket(Bucket="sprocket-conformance")
    return S3Storage("sprocket-conformance", "jobs/j1")


def _ray(request: pytest.FixtureRequest, tmp: Path) -> Storage:
    """A job's object store on the session's loopback Ray cluster (tests/raycluster.py), this
    test connected to it as a coordinator is."""
    from sprocket_cli.executors.ray_cluster import connect, disconnect
    from sprocket_cli.storage.ray_objects import RayObjectStorage, actor_name

    cluster = request.getfixturevalue("cluster")
    connect(cluster.address)
    request.addfinalizer(disconnect)  # the store ends with the connection
    return RayObjectStorage(actor_name(f"conformance-{request.node.name}"))


MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path], Storage]] = {
    "local": lambda request, tmp: LocalStorage(tmp / "store"),
    "memory": lambda request, tmp: MemoryStorage(),
    "s3": _s3,
    "ray": _ray,
}


@pytest.fixture(params=sorted(MAKERS))
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return MAKERS[request.param](request, tmp_path)


def test_put_get_exists_list_delete(storage: Storage) -> None:
    assert storage.put_bytes("a/one.bin", b"1") is True
    storage.put_bytes("a/two.bin", b"22")
    storage.put_bytes("b/three.bin", b"333")
    assert storage.get_bytes("a/two.bin") == b"22"
    assert storage.exists("a/one.bin") and not storage.exists("a/none.bin")
    assert storage.list("a/") == ["a/one.bin", "a/two.bin"]
    storage.delete("a/one.bin")
    storage.delete("a/one.bin")  # absent: no error
    assert storage.list() == ["a/two.bin", "b/three.bin"]
    with pytest.raises(KeyError):
        storage.get_bytes("a/one.bin")


def test_delete_all_removes_a_prefix_and_nothing_else(storage: Storage) -> None:
    for i in range(5):
        storage.put_bytes(f"work/{i}.bin", b"x")
    storage.put_bytes("stream/seg.m4s", b"y")
    storage.put_bytes("workshop.bin", b"z")  # shares the letters, not the folder
    assert storage.delete_all("work/") == 5
    assert storage.list() == ["stream/seg.m4s", "workshop.bin"]
    assert storage.delete_all("work/") == 0


def test_put_replaces_and_files_move_in(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes("k", b"old")
    src = tmp_path / "new.bin"
    src.write_bytes(b"new")
    assert storage.put_file("k", str(src)) is True
    assert storage.get_bytes("k") == b"new"
    assert not src.exists()
    dest = tmp_path / "copy.bin"
    storage.get_file("k", str(dest))
    assert dest.read_bytes() == b"new"


def test_exclusive_put_has_exactly_one_winner(storage: Storage) -> None:
    wins: list[bytes] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        if storage.put_bytes("seg.m4s", bytes([n]) * 1000, exclusive=True):
            wins.append(bytes([n]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert storage.get_bytes("seg.m4s") == wins[0] * 1000
    assert storage.list() == ["seg.m4s"]  # no temporary left behind


def test_spec_reopens_the_same_storage(storage: Storage) -> None:
    storage.put_bytes("x", b"y")
    assert open_storage(storage.spec()).get_bytes("x") == b"y"


def test_local_keys_cannot_leave_the_folder(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    with pytest.raises(ValueError):
        store.put_bytes("../escape.bin", b"no")
    assert not (tmp_path / "escape.bin").exists()
