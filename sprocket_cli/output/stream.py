"""Publishes finished segments, in order, as an HLS playlist and a DASH manifest, with a
variant per rendition when the tasks write more than one (a ladder, an H.264 preview)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sprocket_cli.output.audio import AudioRendition
from sprocket_cli.output.playlists import DashManifest, HlsPlaylist, SegmentEntry, Variant, master_playlist
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import DASH_NAME, HLS_NAME, MASTER_NAME, stream_folder
from sprocket_cli.tasks import Result


@dataclass
class Track:
    """One video rendition of the stream: its media playlist and what its variant says."""

    folder: str
    """'' for the tasks' main output, else the rendition's subfolder."""
    hls: HlsPlaylist
    shown: bool = True
    """Offered to browsers (the DASH manifest, first in the master playlist); a master in a
    codec they cannot play is listed after its preview, for players that can."""
    codec: str = ""
    size: tuple[int, int] = (0, 0)
    init_uri: str = ""
    peak: float = 0.0
    """Bits per second of the largest segment so far."""
    bits: int = 0
    seconds: float = 0.0

    def add(self, entry: SegmentEntry, facts: Mapping[str, Any], codec: str) -> None:
        self.hls.append(entry)
        self.codec = codec
        self.size = (int(facts.get("width", 0)), int(facts.get("height", 0)))
        self.init_uri = self.init_uri or entry.init_uri
        bits = 8 * int(facts.get("bytes", 0))
        self.bits += bits
        self.seconds += entry.duration
        if entry.duration > 0:
            self.peak = max(self.peak, bits / entry.duration)

    def variant(self) -> Variant:
        average = self.bits / self.seconds if self.seconds else 0.0
        width, height = self.size
        # A floor of 1 kbit/s: a segment of a still picture can be smaller than its headers say.
        return Variant(
            self.folder, self.codec, width, height, max(1000, round(self.peak)), max(1000, round(average)),
            self.init_uri,
        )  # fmt: skip


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
        self.tracks: dict[str, Track] = {"": Track("", self.hls)}
        """The main output's rendition, then the others, by folder."""
        self._target_duration = target_duration
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
            self.published.append(entry)
            self.tracks[""].add(entry, r.meta, r.codec)
            for more in r.meta.get("renditions", []):
                self._track(more).add(
                    replace(entry, uri=_name(more["output_key"]), init_uri=_name(more["init_key"])),
                    more,
                    more["codec"],
                )
            self.dash.append(entry)
            self.frames += r.frames
            fresh.append(entry)
        if fresh:
            self._write(ended=False)
        return fresh

    def finish(self) -> None:
        self._write(ended=True)

    @property
    def preview(self) -> bool:
        """Whether players are offered an H.264 preview instead of the main output."""
        return not self.tracks[""].shown

    def preview_note(self) -> str | None:
        """One line for the summary when the stream is an H.264 preview of the main output."""
        if not self.preview:
            return None
        shown = next(t for t in self.tracks.values() if t.shown)
        width, height = shown.size
        return (
            f"stream: an H.264 preview, {width}x{height} (browsers cannot play the master's "
            f"{self.tracks[''].codec}); the final file has the master"
        )

    def _track(self, facts: Mapping[str, Any]) -> Track:
        track = self.tracks.get(facts["name"])
        if track is None:
            track = Track(facts["name"], HlsPlaylist(self._target_duration))
            self.tracks[track.folder] = track
            if facts.get("replaces_main"):
                self.tracks[""].shown = False
        return track

    def _write(self, *, ended: bool) -> None:
        # The manifest is written before the playlists so that a client that saw a segment in
        # one finds it in the others.
        assert self.audio is not None, "segments are held back until the audio is under way"
        audio = self.audio.result()  # takes far less than the first video chunk
        shown = [t.variant() for t in self.tracks.values() if t.shown]
        self.storage.put_bytes(
            f"{self.folder}/{DASH_NAME}", self.dash.text(shown, ended=ended, audio=audio).encode()
        )
        for track in self.tracks.values():
            key = f"{self.folder}/{track.variant().uri(HLS_NAME)}"
            self.storage.put_bytes(key, track.hls.text(ended=ended).encode())
        # Written once while the job runs (players load it once), and again at the end, when
        # each variant's bandwidth is known from all its segments.
        if not self._master_written or ended:
            hidden = [t.variant() for t in self.tracks.values() if not t.shown]
            master = master_playlist(HLS_NAME, shown + hidden, audio)
            self.storage.put_bytes(self.playlist_key, master.encode())
            self._master_written = True


def _name(key: str) -> str:
    """A key's last part: its name in its folder."""
    return key.rpartition("/")[2]
