"""The final MP4: the stream's segments laid end to end, remuxed with the source's audio.

Nothing is re-encoded: video is stream-copied from the segments and audio from the source
(transcoded to AAC only when MP4 cannot carry the source codec). The file is written under a
temporary name beside the destination and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.output.playlists import SegmentEntry
from sprocket_cli.storage import Storage

#: Audio codecs the MP4 muxer accepts as they are.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "flac", "opus", "ac3", "eac3"})


def assemble(
    storage: Storage,
    folder: str,
    entries: list[SegmentEntry],
    source: MediaInfo | None,
    dest: Path,
    work_dir: Path,
) -> None:
    """Write ``dest`` from the segments in ``folder`` plus ``source``'s first audio stream."""
    if len({e.init_uri for e in entries}) != 1:
        raise ValueError("segments with different init segments cannot be joined by stream copy")
    video = work_dir / "video.mp4"
    with video.open("wb") as f:
        f.write(storage.get_bytes(f"{folder}/{entries[0].init_uri}"))
        for e in entries:
            f.write(storage.get_bytes(f"{folder}/{e.uri}"))
    args = ["-i", str(video)]
    maps = ["-map", "0:v:0"]
    codec = ["-c:v", "copy"]
    if source is not None and source.audio:
        args += ["-i", source.source]
        maps += ["-map", "1:a:0"]
        copyable = source.audio[0].codec in MP4_AUDIO_CODECS
        codec += ["-c:a", "copy"] if copyable else ["-c:a", "aac", "-b:a", "192k"]
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        run_ffmpeg(
            [*args, *maps, *codec, "-movflags", "+faststart", "-f", "mp4", "-y", tmp],
            what=f"assembling {dest}",
        )
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
        video.unlink(missing_ok=True)
