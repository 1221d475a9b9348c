"""HLS (EVENT playlist) and DASH (SegmentTimeline) text for the segments done so far.

Both are rendered incrementally: each published segment adds its lines once, so a job of
thousands of segments costs O(1) formatting per segment, not a re-render of the whole list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sprocket_cli.output.audio import AudioRendition


@dataclass(frozen=True)
class SegmentEntry:
    index: int
    uri: str
    init_uri: str
    start_ticks: int
    duration_ticks: int
    timescale: int

    @property
    def duration(self) -> float:
        return self.duration_ticks / self.timescale


@dataclass
class HlsPlaylist:
    """An EVENT playlist: segments only ever get appended, so players can start at once."""

    target_duration: float
    _lines: list[str] = field(default_factory=list)
    _init: str | None = None

    def append(self, e: SegmentEntry) -> None:
        if e.init_uri != self._init:
            if self._init is not None:
                self._lines.append("#EXT-X-DISCONTINUITY")  # a different encoder set-up
            self._lines.append(f'#EXT-X-MAP:URI="{e.init_uri}"')
            self._init = e.init_uri
        self._lines += [f"#EXTINF:{e.duration:.6f},", e.uri]

    def text(self, *, ended: bool) -> str:
        head = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(self.target_duration))}",
            "#EXT-X-PLAYLIST-TYPE:EVENT",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        tail = ["#EXT-X-ENDLIST"] if ended else []
        return "\n".join([*head, *self._lines, *tail]) + "\n"


@dataclass(frozen=True)
class Variant:
    """One video rendition as the master playlist and the manifest offer it."""

    folder: str
    """Its folder in the stream folder ('' for the main one); its media playlist and segments
    are there."""
    codec: str
    """RFC 6381 codec string."""
    width: int
    height: int
    bandwidth: int
    """Bits per second of its most demanding segment (HLS's BANDWIDTH)."""
    average: int
    """Bits per second over the segments so far (HLS's AVERAGE-BANDWIDTH)."""
    init_uri: str
    """Its first init segment, relative to its folder."""

    def uri(self, name: str) -> str:
        """``name`` in its folder, relative to the stream folder."""
        return f"{self.folder}/{name}" if self.folder else name


def master_playlist(playlist: str, variants: list[Variant], audio: AudioRendition | None) -> str:
    """The entry point players open: each video rendition's media playlist (named ``playlist``
    in its folder), with the audio rendition they share if any."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    group = ""
    if audio is not None:
        lines.append(
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="source",DEFAULT=YES,AUTOSELECT=YES,'
            f'URI="{audio.playlist_uri}"'
        )
        group = ',AUDIO="audio"'
    for v in variants:
        codecs = v.codec + (f",{audio.codec}" if audio is not None else "")
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},AVERAGE-BANDWIDTH={v.average},"
            f'CODECS="{codecs}",RESOLUTION={v.width}x{v.height}{group}',
            v.uri(playlist),
        ]
    return "\n".join(lines) + "\n"


@dataclass
class DashManifest:
    """A DASH MPD: ``dynamic`` while the job runs, ``static`` at the end."""

    started_at: datetime
    _timeline: list[str] = field(default_factory=list)
    _first: SegmentEntry | None = None
    _total: float = 0.0

    def append(self, e: SegmentEntry) -> None:
        self._first = self._first or e
        self._timeline.append(f'<S t="{e.start_ticks}" d="{e.duration_ticks}"/>')
        self._total += e.duration

    def text(self, variants: list[Variant], *, ended: bool, audio: AudioRendition | None) -> str:
        """The manifest with a Representation per variant; they share the timeline (each
        rendition of a chunk has its frames)."""
        first = self._first
        timescale, start = (first.timescale, first.index) if first else (90000, 0)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if ended:
            head = f'type="static" mediaPresentationDuration="PT{self._total:.3f}S"'
        else:
            ast = self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            head = (
                f'type="dynamic" availabilityStartTime="{ast}" publishTime="{now}" '
                'minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT24H"'
            )
        representations = "".join(
            f'      <Representation id="{v.folder or "video"}" codecs="{v.codec}" width="{v.width}" '
            f'height="{v.height}" bandwidth="{v.bandwidth}">\n'
            f'        <SegmentTemplate timescale="{timescale}" initialization="{v.uri(v.init_uri)}" '
            f'media="{v.uri("seg_$Number%05d$.m4s")}" startNumber="{start}">\n'
            f"          <SegmentTimeline>{''.join(self._timeline)}</SegmentTimeline>\n"
            "        </SegmentTemplate>\n"
            "      </Representation>\n"
            for v in variants
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
            'profiles="urn:mpeg:dash:profile:isoff-live:2011" '
            f'minBufferTime="PT2S" {head}>\n'
            '  <Period id="0" start="PT0S">\n'
            '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true">\n'
            + representations
            + "    </AdaptationSet>\n"
            + (f"    {audio.adaptation_set}\n" if audio is not None else "")
            + "  </Period>\n"
            "</MPD>\n"
        )
