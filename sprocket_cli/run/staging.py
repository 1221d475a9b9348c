"""A local source for remote workers: cut into chunk files by stream copy, uploaded concurrently,
each chunk ready for its tasks as soon as its own upload is done (paper §3.2.1's pipelining).

One demuxing pass reads the source once and writes every chunk's packets to its own MP4 (no
decoding: about as fast as the disk). MP4 keeps the source's time base and timestamps, so a
worker seeks and trims an uploaded chunk exactly as it would the whole source. Uploads start
as chunks close, while later chunks are still being cut.

Chunks that decode from the same keyframe share one file, uploaded once: with sparse
keyframes (one every minute, or one in the whole file) a file per chunk would carry every
packet from the keyframe on again, so the upload grew with the square of the chunk count.
Shared, each packet is uploaded about once (files of neighbouring keyframes overlap only by
the few packets a chunk decodes past the next keyframe); the price is that those chunks
start when their shared file is up, which they could not do much sooner anyway, since each
needs the packets from the keyframe on.

A stage that reads before its chunk (scene_change compares a chunk's first frame with the
ones before it) finds those frames in the source; :func:`reach_back` makes the chunk files of a
job that has one start as far back, so that the stage sees in a file what it sees in the source.
A task over a span of several chunks (one per scene) reads its span from one source: a job that
has such tasks is staged as one file (:func:`one_file`), each chunk still seeking its own
keyframe in it.
"""

from __future__ import annotations

import bisect
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from sprocket_cli.aws.errors import explain
from sprocket_cli.errors import JobFailedError
from sprocket_cli.media.chunking import Chunk, ChunkPlan
from sprocket_cli.media.ffmpeg import STOP_POLL
from sprocket_cli.storage import Storage

#: Uploads in flight at once: enough to fill a home uplink, few enough to leave it for tasks.
UPLOADS = 4
#: Chunk files cut but not yet uploaded, at most: the cutter runs at disk speed, the uplink
#: far slower, and the files would otherwise pile up in /tmp (RAM, where /tmp is a tmpfs).
CUT_AHEAD = 2 * UPLOADS


class StagingError(JobFailedError):
    """A chunk of a local source could not be cut or uploaded, so remote workers cannot read it."""


@dataclass(frozen=True)
class StagedChunk:
    input: str
    chunk: int
    key: str
    url: str
    """Where workers read it (a presigned URL for S3)."""
    time_base: Fraction
    """Of the chunk file's video (MP4 may refine the source's: 1/1000 becomes 1/16000)."""
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
        self._ready: queue.SimpleQueue[StagedChunk | StagingError] = queue.SimpleQueue()
        self._uploads = ThreadPoolExecutor(UPLOADS, thread_name_prefix="sprocket-upload")
        self._room = threading.Semaphore(CUT_AHEAD)
        self._stop = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="sprocket-stage-", ignore_cleanup_errors=True)
        self.pending = len(plan.chunks)
        """Chunks not yet handed out by :meth:`take`."""
        self._cutter = threading.Thread(target=self._cut, name="sprocket-cut", daemon=True)
        self._cutter.start()

    def take(self, timeout: float | None) -> list[StagedChunk]:
        """Chunks uploaded since the last call, waiting up to ``timeout`` s for the first;
        :class:`StagingError` if one could not be cut or uploaded."""
        got: list[StagedChunk] = []
        try:
            item = self._ready.get(timeout=timeout) if timeout else self._ready.get_nowait()
            while True:
                if isinstance(item, StagingError):
                    raise item
                got.append(item)
                item = self._ready.get_nowait()
        except queue.Empty:
            pass
        self.pending -= len(got)
        return got

    def close(self) -> None:
        """Stop cutting and drop queued uploads; running ones finish on their own threads."""
        self._stop.set()
        self._uploads.shutdown(wait=False, cancel_futures=True)
        self._cutter.join()
        self._tmp.cleanup()

    def _cut(self) -> None:
        try:
            split(self.source, self.plan.chunks, self._tmp.name, self._upload)
        except _Stopped:
            pass
        except Exception as exc:  # handed to the coordinator's thread, which fails the job
            self._ready.put(StagingError(f"{self.name}: cutting {self.source} into chunks failed: {exc}"))

    def _upload(self, chunks: tuple[Chunk, ...], path: str, time_base: Fraction) -> None:
        while not self._room.acquire(timeout=STOP_POLL):
            if self._stop.is_set():
                raise _Stopped
        future = self._uploads.submit(self._put, chunks, path, time_base)
        future.add_done_callback(self._uploaded)

    def _uploaded(self, future: Future[list[StagedChunk]]) -> None:
        if future.cancelled():
            return  # the job ended first
        exc = future.exception()
        if exc is None:
            for staged in future.result():
                self._ready.put(staged)
            return
        reason = explain(exc) or exc
        self._ready.put(StagingError(f"{self.name}: uploading a chunk to storage failed: {reason}"))

    def _put(self, chunks: tuple[Chunk, ...], path: str, time_base: Fraction) -> list[StagedChunk]:
        """Upload the file ``chunks`` share, once; one :class:`StagedChunk` per chunk, the
        file's bytes booked on the first (so that the job's upload total is what was sent)."""
        try:
            key = f"{self.folder}/{self.name}/c{chunks[0].index:05d}.mp4"
            size = os.path.getsize(path)
            started = time.monotonic()
            self.storage.put_file(key, path)
            seconds = time.monotonic() - started
            url = self.storage.url(key)
            return [
                StagedChunk(self.name, c.index, key, url, time_base, size if i == 0 else 0, seconds)
                for i, c in enumerate(chunks)
            ]
        finally:
            self._room.release()


def reach_back(plan: ChunkPlan, keyframes: Sequence[int], seconds: float) -> ChunkPlan:
    """``plan`` with each chunk decoding from the keyframe at or before ``seconds`` ahead of its
    start, where that is earlier than its own seek point: the chunks to stage for a job whose
    stages read that far before their chunk. ``keyframes``: the source's, in order."""
    if seconds <= 0:
        return plan
    chunks = []
    for chunk in plan.chunks:
        # Rounded back: a keyframe early costs a few packets; one late would lose the frames.
        back = chunk.start_pts - math.ceil(Fraction(seconds) / chunk.time_base)
        seek = keyframes[max(0, bisect.bisect_right(keyframes, back) - 1)]
        chunks.append(replace(chunk, seek_pts=min(chunk.seek_pts, seek)))
    return replace(plan, chunks=tuple(chunks))


def one_file(plan: ChunkPlan) -> ChunkPlan:
    """``plan`` with every chunk in the first chunk's file: staged as one file, from the first
    keyframe to the end, for a job whose tasks read spans across chunks (a scene read from its
    first chunk's file alone stopped where that file ends). Only the staging reads this plan:
    the tasks keep their own chunks' seek points, so each still starts at its keyframe."""
    first = plan.chunks[0].seek_pts
    return replace(plan, chunks=tuple(replace(c, seek_pts=first) for c in plan.chunks))


class _Stopped(Exception):
    """The job ended while the source was still being cut."""


def split(
    source: str,
    chunks: tuple[Chunk, ...],
    folder: str,
    done: Callable[[tuple[Chunk, ...], str, Fraction], None],
) -> None:
    """Write the packets of each group of chunks that seek to the same keyframe to
    ``folder/cNNNNN.mp4`` (named for the group's first chunk) in one pass; call ``done`` with
    the group, its file and the file's time base as each closes.

    A file runs from its keyframe to the last packet decoded before its last chunk's end, so
    every frame its chunks show can be decoded from the file alone.
    """
    import av  # lazy: only remote backends stage sources

    with av.open(source) as container:
        stream = container.streams.video[0]
        writers: dict[int, _ChunkFile] = {}
        waiting = seek_groups(chunks)
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            pts = packet.pts
            while waiting and packet.is_keyframe and pts is not None and pts >= waiting[0][0].seek_pts:
                group = waiting.pop(0)
                path = os.path.join(folder, f"c{group[0].index:05d}.mp4")
                writers[group[0].index] = _ChunkFile(group, path, stream)
            for index, writer in list(writers.items()):
                if writer.take(packet):
                    del writers[index]
                    done(writer.chunks, writer.path, writer.close())
            if not waiting and not writers:
                return  # the rest of the file belongs to no chunk
        for writer in writers.values():
            done(writer.chunks, writer.path, writer.close())
        if waiting:
            raise ValueError(f"no keyframe found where chunk {waiting[0][0].index} starts")


def seek_groups(chunks: tuple[Chunk, ...]) -> list[tuple[Chunk, ...]]:
    """``chunks`` in runs of neighbours that seek to the same keyframe: each run is one file."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups and groups[-1][0].seek_pts == chunk.seek_pts:
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    return [tuple(g) for g in groups]


class _ChunkFile:
    def __init__(self, chunks: tuple[Chunk, ...], path: str, template: Any) -> None:
        import av

        self.chunks = chunks
        self._last = any(c.is_last for c in chunks)
        self._decode_end = max(c.decode_end_pts for c in chunks)
        self._time_base = chunks[0].time_base
        self.path = path
        self._out = av.open(path, "w", format="mp4")
        self._stream = self._out.add_stream_from_template(template)

    def take(self, packet: Any) -> bool:
        """Write ``packet`` if one of the chunks needs it; True once they all are complete.

        Every frame a chunk shows (pts before its end) and every frame those reference is
        decoded before them, so all have a decode time before the end: the first packet with a
        later one than the last chunk's end completes the file, whatever the GOP structure.
        """
        if not self._last and packet.dts is not None and packet.dts >= self._decode_end:
            return True
        self._out.mux(_copy(packet, self._stream))
        return False

    def close(self) -> Fraction:
        """Finish the file; the time base its video was written in, which must divide the
        source's (chunk refs are rescaled to it)."""
        self._out.close()
        written = Fraction(self._stream.time_base)
        if (self._time_base / written).denominator != 1:
            raise ValueError(f"the chunk file's time base {written} does not divide {self._time_base}")
        return written


def _copy(packet: Any, stream: Any) -> Any:
    """``packet`` for ``stream``: muxing takes a packet over, and chunks may share packets."""
    import av

    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    copy.stream = stream
    return copy
