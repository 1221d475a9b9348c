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


def master_playlist(video_uri: str, codec: str, width: int, height: int, audio: AudioRendition | None) -> str:
    """The entry point players open: the video playlist, with the audio rendition if any."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    codecs = codec
    group = ""
    if audio is not None:
        lines.append(
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="source",DEFAULT=YES,AUTOSELECT=YES,'
            f'URI="{audio.playlist_uri}"'
        )
        codecs += f",{audio.codec}"
        group = ',AUDIO="audio"'
    lines += [
        f'#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS="{codecs}",RESOLUTION={width}x{height}{group}',
        video_uri,
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

    def text(self, *, codec: str, width: int, height: int, ended: bool, audio: AudioRendition | None) -> str:
        first = self._first
        timescale, init_uri, start = (
            (first.timescale, first.init_uri, first.index) if first else (90000, "", 0)
        )
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if ended:
            head = f'type="static" mediaPresentationDuration="PT{self._total:.3f}S"'
        else:
            ast = self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            head = (
                f'type="dynamic" availabilityStartTime="{ast}" publishTime="{now}" '
                'minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT24H"'
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
            'profiles="urn:mpeg:dash:profile:isoff-live:2011" '
            f'minBufferTime="PT2S" {head}>\n'
            '  <Period id="0" start="PT0S">\n'
            '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true">\n'
            f'      <Representation id="video" codecs="{codec}" width="{width}" height="{height}" '
            'bandwidth="5000000">\n'
            f'        <SegmentTemplate timescale="{timescale}" initialization="{init_uri}" '
            f'media="seg_$Number%05d$.m4s" startNumber="{start}">\n'
            f"          <SegmentTimeline>{''.join(self._timeline)}</SegmentTimeline>\n"
            "        </SegmentTemplate>\n"
            "      </Representation>\n"
            "    </AdaptationSet>\n"
            + (f"    {audio.adaptation_set}\n" if audio is not None else "")
            + "  </Period>\n"
            "</MPD>\n"
        )
