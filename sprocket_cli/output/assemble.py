"""The final MP4: the stream's segments laid end to end, remuxed with the source's audio.

Nothing is re-encoded: video is stream-copied from the segments and audio from the source
(transcoded to AAC only when MP4 cannot carry the source codec). The file is written under a
temporary name beside the destination and renamed into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.output.playlists import SegmentEntry
from sprocket_cli.storage import Storage


def assemble(
    storage: Storage,
    folder: str,
    entries: list[SegmentEntry],
    audio: AudioPlan,
    dest: Path,
    work_dir: Path,
) -> None:
    """Write ``dest`` from the segments in ``folder`` plus the output's ``audio``."""
    if len({e.init_uri for e in entries}) != 1:
        raise ValueError("segments with different init segments cannot be joined by stream copy")
    video = work_dir / "video.mp4"
    with video.open("wb") as f:
        f.write(storage.get_bytes(f"{folder}/{entries[0].init_uri}"))
        for e in entries:
            f.write(storage.get_bytes(f"{folder}/{e.uri}"))
    args = ["-i", str(video), *audio.inputs(), "-map", "0:v:0", "-c:v", "copy"]
    if audio.parts:
        args += audio.output_args(1)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        run_ffmpeg(
            [*args, "-movflags", "+faststart", "-f", "mp4", "-y", tmp],
            what=f"assembling {dest}",
        )
        publish(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
        video.unlink(missing_ok=True)


def write_report(dest: Path, facts: list[dict[str, Any]]) -> None:
    """A facts output (scenes, faces) as one JSON document, written aside and renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1)
        publish(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def publish(tmp: str, dest: Path) -> None:
    """Rename the finished ``tmp`` over ``dest``, with the permissions a new file gets here.

    mkstemp makes its file readable by its owner only (0600); the user's output should read
    like any file they create (0644 under the usual umask). The umask is read by setting it,
    which is safe here: files are assembled after the job's side threads have finished.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)
