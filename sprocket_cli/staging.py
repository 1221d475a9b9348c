"""A local source for remote workers: cut into chunk files by stream copy, uploaded concurrently,
each chunk ready for its tasks as soon as its own upload is done (paper §3.2.1's pipelining).

One demuxing pass reads the source once and writes every chunk's packets to its own MP4 (no
decoding: about as fast as the disk). MP4 keeps the source's time base and timestamps, so a
worker seeks and trims an uploaded chunk exactly as it would the whole source. Uploads start
as chunks close, while later chunks are still being cut.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sprocket_cli.media.chunking import Chunk, ChunkPlan
from sprocket_cli.storage import Storage

#: Uploads in flight at once: enough to fill a home uplink, few enough to leave it for tasks.
UPLOADS = 4


@dataclass(frozen=True)
class StagedChunk:
    input: str
    chunk: int
    key: str
    url: str
    """Where workers read it (a presigned URL for S3)."""
    bytes: int
    seconds: float
    """Upload time."""


class Stager:
    """Cuts ``source`` on ``plan`` and uploads the chunks under ``folder`` in ``storage``."""

    def __init__(self, name: str, source: str, plan: ChunkPlan, storage: Storage, folder: str) -> None:
        self.name = name
        self.source = source
        self.plan = plan
        self.storage = storage
        self.folder = folder
        self._ready: queue.SimpleQueue[StagedChunk | BaseException] = queue.SimpleQueue()
        self._uploads = ThreadPoolExecutor(UPLOADS, thread_name_prefix="sprocket-upload")
        self._tmp = tempfile.TemporaryDirectory(prefix="sprocket-stage-")
        self.pending = len(plan.chunks)
        """Chunks not yet handed out by :meth:`take`."""
        self._cutter = threading.Thread(target=self._cut, name="sprocket-cut", daemon=True)
        self._cutter.start()

    def take(self, timeout: float | None) -> list[StagedChunk]:
        """Chunks uploaded since the last call, waiting up to ``timeout`` s for the first."""
        got: list[StagedChunk] = []
        try:
            item = self._ready.get(timeout=timeout) if timeout else self._ready.get_nowait()
            while True:
                if isinstance(item, BaseException):
                    raise item
                got.append(item)
                item = self._ready.get_nowait()
        except queue.Empty:
            pass
        self.pending -= len(got)
        return got

    def close(self) -> None:
        self._uploads.shutdown(wait=True, cancel_futures=True)
        self._cutter.join()
        self._tmp.cleanup()

    def _cut(self) -> None:
        try:
            split(self.source, self.plan.chunks, self._tmp.name, self._upload)
        except BaseException as exc:  # handed to the coordinator's thread
            self._ready.put(exc)

    def _upload(self, chunk: Chunk, path: str) -> None:
        future: Future[StagedChunk] = self._uploads.submit(self._put, chunk, path)
        future.add_done_callback(lambda f: self._ready.put(f.exception() or f.result()))

    def _put(self, chunk: Chunk, path: str) -> StagedChunk:
        key = f"{self.folder}/{self.name}/c{chunk.index:05d}.mp4"
        size = os.path.getsize(path)
        started = time.monotonic()
        self.storage.put_file(key, path)
        return StagedChunk(
            self.name, chunk.index, key, self.storage.url(key), size, time.monotonic() - started
        )


def split(source: str, chunks: tuple[Chunk, ...], folder: str, done: Callable[[Chunk, str], None]) -> None:
    """Write each chunk's packets to ``folder/cNNNNN.mp4`` in one pass; call ``done`` as each closes.

    A chunk's file runs from its seek keyframe to the last packet decoded before its end, so
    every frame the chunk shows can be decoded from the file alone.
    """
    import av  # lazy: only remote backends stage sources

    with av.open(source) as container:
        stream = container.streams.video[0]
        writers: dict[int, _ChunkFile] = {}
        waiting = list(chunks)
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            pts = packet.pts
            while waiting and packet.is_keyframe and pts is not None and pts >= waiting[0].seek_pts:
                chunk = waiting.pop(0)
                writers[chunk.index] = _ChunkFile(
                    chunk, os.path.join(folder, f"c{chunk.index:05d}.mp4"), stream
                )
            for index, writer in list(writers.items()):
                if writer.take(packet):
                    writer.close()
                    del writers[index]
                    done(writer.chunk, writer.path)
        for writer in writers.values():
            writer.close()
            done(writer.chunk, writer.path)


class _ChunkFile:
    def __init__(self, chunk: Chunk, path: str, template: Any) -> None:
        import av

        self.chunk = chunk
        self.path = path
        self._out = av.open(path, "w", format="mp4")
        self._stream = self._out.add_stream_from_template(template)

    def take(self, packet: Any) -> bool:
        """Write ``packet`` if the chunk needs it; True once the chunk is complete.

        Every frame the chunk shows (pts before its end) and every frame those reference is
        decoded before them, so all have a decode time before the end: the first packet with a
        later one ends the chunk, whatever the GOP structure.
        """
        if not self.chunk.is_last and packet.dts is not None and packet.dts >= self.chunk.end_pts:
            return True
        self._out.mux(_copy(packet, self._stream))
        return False

    def close(self) -> None:
        self._out.close()


def _copy(packet: Any, stream: Any) -> Any:
    """``packet`` for ``stream``: muxing takes a packet over, and chunks may share packets."""
    import av

    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    copy.stream = stream
    return copy
