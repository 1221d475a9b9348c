"""The source's audio as its own streaming rendition, beside the video segments.

The stream carries one audio rendition, the output's first audio track: the playlists name one
audio group with one member, and a browser plays one track at a time. The final file carries
every track (:mod:`~sprocket_cli.output.assemble`).

Video chunks are encoded one by one, but audio needs no work: ffmpeg's DASH muxer copies it
(AAC; other codecs are transcoded, since players expect AAC in a stream) into fMP4 segments
and writes both an HLS media playlist and a DASH adaptation set, which the stream writer
references. It runs once at job start, in the time the first video chunk takes.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.containers import AAC, AudioTarget
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import AUDIO_FOLDER

HLS_MEDIA = "media_0.m3u8"  # the name ffmpeg's DASH muxer gives its first HLS media playlist
_MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
#: Seconds per audio segment.
AUDIO_SEGMENT_SECONDS = 4
#: Players expect AAC in a stream, whatever the final file carries.
STREAM_AUDIO = AudioTarget(frozenset({"aac"}), AAC, "players expect AAC in a stream")


@dataclass(frozen=True)
class AudioRendition:
    codec: str
    """RFC 6381 codec string (``mp4a.40.2``)."""
    playlist_uri: str
    """HLS media playlist, relative to the stream folder."""
    adaptation_set: str
    """The DASH ``AdaptationSet`` element, with a BaseURL pointing into the audio folder."""


def write_audio_rendition(audio: AudioPlan, storage: Storage, folder: str) -> AudioRendition | None:
    """Segment the output's first audio track into ``folder/audio``; None when it has none."""
    if not audio.parts or not audio.audio_tracks:
        return None
    first = audio.first_audio()
    with tempfile.TemporaryDirectory(prefix="sprocket-audio-") as tmp:
        out = Path(tmp)
        run_ffmpeg(
            [
                # MPEG-TS sources carry another tag than the MP4 muxer's: mp4a is set whatever
                # came in.
                *first.inputs(), *first.carried(0, lambda _codec: STREAM_AUDIO).args,
                "-vn", "-tag:a", "mp4a",
                "-f", "dash", "-seg_duration", str(AUDIO_SEGMENT_SECONDS),
                "-use_template", "1", "-use_timeline", "1", "-hls_playlist", "1",
                "-init_seg_name", "init.m4s", "-media_seg_name", "seg_$Number%05d$.m4s",
                str(out / "audio.mpd"),
            ],
            what="segmenting the audio for streaming",
        )  # fmt: skip
        mpd = (out / "audio.mpd").read_bytes()  # read here, not back from (maybe remote) storage
        for path in sorted(out.iterdir()):
            storage.put_file(f"{folder}/{AUDIO_FOLDER}/{path.name}", str(path))
    ET.register_namespace("", _MPD_NS)
    root = ET.fromstring(mpd)
    adaptation = root.find(f".//{{{_MPD_NS}}}AdaptationSet")
    representation = root.find(f".//{{{_MPD_NS}}}Representation")
    if adaptation is None or representation is None:
        raise ValueError("ffmpeg wrote an audio MPD without an adaptation set")
    base = ET.Element(f"{{{_MPD_NS}}}BaseURL")
    base.text = f"{AUDIO_FOLDER}/"
    adaptation.insert(0, base)
    xml = ET.tostring(adaptation, encoding="unicode", short_empty_elements=True)
    return AudioRendition(
        codec=representation.get("codecs", "mp4a.40.2"),
        playlist_uri=f"{AUDIO_FOLDER}/{HLS_MEDIA}",
        adaptation_set=xml.replace(f' xmlns="{_MPD_NS}"', ""),
    )
