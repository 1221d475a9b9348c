"""HLS (EVENT playlist) and DASH (SegmentTimeline) text for the segments done so far."""

from __future__ import annotations

import math
from dataclasses import dataclass
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


def hls_playlist(entries: list[SegmentEntry], target_duration: float, *, ended: bool) -> str:
    """An EVENT playlist: segments only ever get appended, so players can start at once."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(target_duration))}",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    init = None
    for e in entries:
        if e.init_uri != init:
            if init is not None:
                lines.append("#EXT-X-DISCONTINUITY")  # a different encoder set-up
            lines.append(f'#EXT-X-MAP:URI="{e.init_uri}"')
            init = e.init_uri
        lines += [f"#EXTINF:{e.duration:.6f},", e.uri]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


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


def dash_manifest(
    entries: list[SegmentEntry],
    *,
    codec: str,
    width: int,
    height: int,
    ended: bool,
    started_at: datetime,
    audio: AudioRendition | None = None,
) -> str:
    """A DASH MPD listing ``entries``: ``dynamic`` while the job runs, ``static`` at the end."""
    if not entries:
        timescale, init_uri, total = 90000, "", 0.0
    else:
        timescale, init_uri = entries[0].timescale, entries[0].init_uri
        total = sum(e.duration for e in entries)
    timeline = "".join(f'<S t="{e.start_ticks}" d="{e.duration_ticks}"/>' for e in entries)
    start = entries[0].index if entries else 0
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if ended:
        head = f'type="static" mediaPresentationDuration="PT{total:.3f}S"'
    else:
        ast = started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
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
        f"          <SegmentTimeline>{timeline}</SegmentTimeline>\n"
        "        </SegmentTemplate>\n"
        "      </Representation>\n"
        "    </AdaptationSet>\n"
        + (f"    {audio.adaptation_set}\n" if audio is not None else "")
        + "  </Period>\n"
        "</MPD>\n"
    )
