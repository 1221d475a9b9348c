"""The ray backend's default storage, the Ray object store, on the real two-node loopback cluster
(tests/raycluster.py): a filter job gives the local backend's frames with no item in a folder, a
local source goes through the store once and its tasks read it from local copies, ffmpeg reads an
item from its URL, and a resumed job says that the earlier run's results are gone."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.backends import open_backend
from sprocket_cli.errors import OptionError
from sprocket_cli.events import ChunkStaged, Event, JobFinished, TaskFinished
from sprocket_cli.executors.ray_cluster import connect, disconnect
from sprocket_cli.jobs.journal import Journal
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.session import JobRequest, start
from sprocket_cli.storage.ray_objects import RayObjectStorage, Traffic, actor_name
from tests.e2e import test_ray_backend
from tests.media_checks import VideoFacts, facts
from tests.raycluster import RayCluster

pytestmark = pytest.mark.timeout(240)
VF = test_ray_backend.VF
local_facts = test_ray_backend.local_facts
"""The fixture: the local backend's output of the same job."""


def test_a_filter_job_keeps_its_items_in_the_object_store_and_gives_the_local_frames(
    cluster: RayCluster, small_clip: Path, local_facts: VideoFacts, tmp_path: Path
) -> None:
    # The job of test_ray_backend's local_facts, with no storage named: the default.
    options = JobOptions(
        workers=2,
        chunk_seconds=1.0,
        job_parent=tmp_path / "jobs",
        backend="ray",
        backend_options=(("address", cluster.address),),
    )
    spec = builtin_pipelines.load("filter", {"filter": {"vf": VF}, "encode": {"crf": 0}})
    out = tmp_path / "ray.mp4"
    handle = start(JobRequest(spec, {"input_0": str(small_clip)}, {"output_0": out}, options))
    assert isinstance(handle.storage, RayObjectStorage)
    events: list[Event] = []
    traffic = Traffic(0, 0, 0)
    for event in handle.events():
        events.append(event)
        if isinstance(event, JobFinished):
            # The last event: the job's connection, and so its store, is still up.
            traffic = handle.storage.traffic()
    got = facts(out)
    assert got.frames == local_facts.frames == 75
    assert got.frame_hashes == local_facts.frame_hashes
    # The local source went into the store once (its video: less than the file), and every
    # chunk's segment went through it too.
    staged = sum(e.bytes for e in events if isinstance(e, ChunkStaged))
    assert 0 < staged < small_clip.stat().st_size
    assert traffic.put > staged and traffic.read > staged
    # Each task copied its chunk's file from the store and read that: no range request reached
    # the item server (served to ffmpeg by URL, a chunk's file takes several).
    assert traffic.served == 0
    assert {e.chunk for e in events if isinstance(e, TaskFinished)} == {0, 1, 2}
    # Nothing a node wrote is in a folder: no segment, no staged chunk, no intermediate.
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert not [p for p in written if p.endswith((".m4s", ".mp4")) and p != "ray.mp4"], written
    assert not (handle.job_dir / "stream").exists() and not (handle.job_dir / "work").exists()


def test_a_source_in_a_shared_folder_is_read_in_place(
    cluster: RayCluster, small_clip: Path, local_facts: VideoFacts, tmp_path: Path
) -> None:
    """``shared=FOLDER``: the nodes see the source where it is (a farm's mount; here, one
    machine), so nothing of it is put in storage, and the frames are the local backend's."""
    options = JobOptions(
        workers=2,
        chunk_seconds=1.0,
        job_parent=tmp_path / "jobs",
        backend="ray",
        backend_options=(("address", cluster.address), ("shared", str(small_clip.parent))),
    )
    spec = builtin_pipelines.load("filter", {"filter": {"vf": VF}, "encode": {"crf": 0}})
    out = tmp_path / "shared.mp4"
    handle = start(JobRequest(spec, {"input_0": str(small_clip)}, {"output_0": out}, options))
    events = list(handle.events())
    assert not [e for e in events if isinstance(e, ChunkStaged)]
    assert facts(out).frame_hashes == local_facts.frame_hashes


def test_a_shared_folder_that_is_not_here_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"ray's shared names /nowhere/farm: no such folder here$"):
        open_backend("ray", {"shared": "/nowhere/farm"})
    assert open_backend("ray", {"shared": str(tmp_path)}).reads_in_place(str(tmp_path / "a" / "b.mp4"))
    (tmp_path / "a").mkdir()
    assert not open_backend("ray", {"shared": str(tmp_path / "a")}).reads_in_place(str(tmp_path / "b.mp4"))


@pytest.fixture
def objects(cluster: RayCluster, request: pytest.FixtureRequest) -> RayObjectStorage:
    connect(cluster.address)
    request.addfinalizer(disconnect)
    return RayObjectStorage(actor_name(request.node.name))


def test_ffmpeg_reads_an_item_from_its_url_in_byte_ranges(
    objects: RayObjectStorage, small_clip: Path
) -> None:
    data = small_clip.read_bytes()
    objects.put_bytes("work/source/input_0/c00000.mp4", data)
    url = objects.url("work/source/input_0/c00000.mp4")
    assert url.startswith("http://127.0.0.1:")
    ranged = urllib.request.Request(url, headers={"Range": "bytes=100-199"})
    with urllib.request.urlopen(ranged) as reply:
        assert reply.status == 206
        assert reply.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert reply.read() == data[100:200]
    # MP4 keeps its index at the end: ffmpeg seeks there and back.
    before = objects.traffic().served
    assert facts(url).frame_hashes == facts(small_clip).frame_hashes
    assert objects.traffic().served > before
    base, _, key = url.rpartition("/work/")
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(f"{base.rpartition('/')[0]}/not-the-token/work/{key}")
    assert wrong.value.code == 404


def test_a_task_reads_a_staged_chunk_from_a_local_copy_and_a_whole_source_by_its_url(
    objects: RayObjectStorage, small_clip: Path, tmp_path: Path
) -> None:
    import ray

    from sprocket_cli.storage import open_storage

    data = small_clip.read_bytes()
    objects.put_bytes("work/source/input_0/c00000.mp4", data)
    url = objects.url("work/source/input_0/c00000.mp4")
    spec = objects.spec()

    def read(source: str, at_most: int) -> tuple[str, bytes]:
        """Where a task's ffmpeg would read ``source``, and what it would find there."""
        import os
        import tempfile

        storage = open_storage(spec)
        assert isinstance(storage, RayObjectStorage)
        storage.COPY_AT_MOST = at_most
        with tempfile.TemporaryDirectory() as tmp:
            path = storage.local_source(source, os.path.join(tmp, "in0"))
            copied = Path(path).read_bytes() if path.startswith(tmp) else b""
            return path.removeprefix(tmp), copied

    task = ray.remote(num_cpus=1, max_retries=0)(read)
    before = objects.traffic()
    assert ray.get(task.remote(url, len(data))) == ("/in0", data)  # a chunk's file: copied whole
    copied = objects.traffic()
    assert copied.read - before.read == len(data) and copied.served == before.served
    # Larger than a task copies (a whole source staged for spans): its URL, nothing read yet.
    assert ray.get(task.remote(url, len(data) - 1)) == (url, b"")
    # A source the store does not serve is read where it is.
    assert ray.get(task.remote(str(small_clip), len(data))) == (str(small_clip), b"")
    assert objects.traffic() == copied


def test_an_item_a_task_wrote_outlives_the_task(objects: RayObjectStorage) -> None:
    import ray

    from sprocket_cli.storage import open_storage

    spec = objects.spec()
    objects.exists("x")  # the coordinator's copy makes the store

    def write() -> bool:
        return open_storage(spec).put_bytes("work/g/c00000.bin", b"chunk", exclusive=True)

    assert ray.get(ray.remote(num_cpus=1, max_retries=0)(write).remote()) is True
    assert objects.get_bytes("work/g/c00000.bin") == b"chunk"


def test_a_resumed_job_says_that_its_earlier_results_are_gone(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    for chunk in (0, 1):
        result = {"task_id": f"t{chunk}"}
        journal.append(
            TaskFinished(
                t=1.0, task_id=f"t{chunk}", group="g", chunk=chunk, attempt=1, frames=25,
                worker="w", read=0, compute=0, write=0, result=result,
            )
        )  # fmt: skip
    backend = open_backend("ray")
    backend.storage(tmp_path, "j1")
    assert backend.notices == [
        "2 finished tasks of the earlier run had their results in its Ray object store, which "
        "ended with it: they run again (storage=s3://BUCKET/PREFIX keeps results for a resume)"
    ]
    fresh = open_backend("ray")
    fresh.storage(tmp_path / "new", "j2")  # no journal: a new job
    assert fresh.notices == []
