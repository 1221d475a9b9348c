"""Publishes finished segments, in order, as an HLS playlist and a DASH manifest."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime

from sprocket_cli.output.audio import AudioRendition
from sprocket_cli.output.playlists import DashManifest, HlsPlaylist, SegmentEntry, master_playlist
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import DASH_NAME, HLS_NAME, MASTER_NAME, stream_folder
from sprocket_cli.tasks import Result


class StreamWriter:
    """Keeps the playlists listing the contiguous prefix of finished segments.

    Segments finish out of order; a player may only see a gap-free prefix, so a segment is
    published once every segment before it is done.
    """

    def __init__(
        self,
        storage: Storage,
        output: str,
        total: int,
        target_duration: float,
        audio: Future[AudioRendition | None] | None,
    ) -> None:
        self.storage = storage
        self.audio = audio
        """Being written (at job start, or once a SceneKeep job knows which scenes it keeps);
        the manifests wait for it before their first write. None: not started yet, so finished
        segments are held back until :meth:`start_audio`."""
        self.output = output
        self.folder = stream_folder(output)
        self.total = total
        self.hls = HlsPlaylist(target_duration)
        self.dash = DashManifest(datetime.now(UTC))
        self._done: dict[int, Result] = {}
        self._next = 0
        """The next chunk to publish; chunks with nothing kept are passed over."""
        self.published: list[SegmentEntry] = []
        self.frames = 0
        """Frames in the published segments."""
        self._codec = ""
        self._size = (0, 0)
        self._master_written = False

    @property
    def playlist_key(self) -> str:
        """What a player opens (HLS master playlist)."""
        return f"{self.folder}/{MASTER_NAME}"

    @property
    def complete(self) -> bool:
        return self._next == self.total

    def start_audio(self, audio: Future[AudioRendition | None]) -> list[SegmentEntry]:
        """The audio rendition is under way: publish what was held back for it."""
        self.audio = audio
        return self.flush()

    def add(self, result: Result) -> list[SegmentEntry]:
        """Record a finished segment; return the segments this made playable, in order."""
        self._done[result.chunk] = result
        return self.flush()

    def flush(self) -> list[SegmentEntry]:
        """Publish the finished segments that follow the published ones without a gap."""
        fresh: list[SegmentEntry] = []
        while self.audio is not None and self._next in self._done:
            r = self._done.pop(self._next)
            self._next += 1
            if r.init_key is None:
                continue  # nothing of the chunk was kept
            entry = SegmentEntry(
                index=len(self.published),
                uri=r.output_key.rpartition("/")[2],
                init_uri=r.init_key.rpartition("/")[2],
                start_ticks=r.start_ticks,
                duration_ticks=r.duration_ticks,
                timescale=r.timescale,
            )
            self._codec = r.codec
            self._size = (int(r.meta.get("width", 0)), int(r.meta.get("height", 0)))
            self.published.append(entry)
            self.hls.append(entry)
            self.dash.append(entry)
            self.frames += r.frames
            fresh.append(entry)
        if fresh:
            self._write(ended=False)
        return fresh

    def finish(self) -> None:
        self._write(ended=True)

    def _write(self, *, ended: bool) -> None:
        # The manifest is written before the playlist so that a client that saw a segment in
        # one finds it in the other.
        width, height = self._size
        assert self.audio is not None, "segments are held back until the audio is under way"
        audio = self.audio.result()  # takes far less than the first video chunk
        self.storage.put_bytes(
            f"{self.folder}/{DASH_NAME}",
            self.dash.text(codec=self._codec, width=width, height=height, ended=ended, audio=audio).encode(),
        )
        self.storage.put_bytes(f"{self.folder}/{HLS_NAME}", self.hls.text(ended=ended).encode())
        if not self._master_written:  # once: it never changes, and players load it once
            master = master_playlist(HLS_NAME, self._codec, width, height, audio)
            self.storage.put_bytes(self.playlist_key, master.encode())
            self._master_written = True
