"""Every key and file name of a job's folder (or its storage prefix), in one place.

The coordinator, the workers (local or on Lambda), the stream server, ``clean`` and the CLI
all find a job's parts by these names; a new kind of file gets its name here.
"""

from __future__ import annotations

WORK = "work"
"""Intermediates: lossless frames, facts, staged chunks; removed when the job finishes."""
STAGED = f"{WORK}/source"
"""Chunks of a source cut and uploaded for workers that cannot read it where it is."""
CONTROL = "control"
"""Requests to the job from outside its coordinator (cancel, pause)."""
CANCEL_KEY = f"{CONTROL}/cancel"
"""The key workers watch; in a local job folder it is the cancel request file itself."""
STREAM = "stream"
"""output_0's stream folder; the only part of a job the stream server serves."""
HLS_NAME = "stream.m3u8"
"""The video media playlist."""
MASTER_NAME = "master.m3u8"
"""What players open: video plus the audio rendition."""
DASH_NAME = "stream.mpd"
AUDIO_FOLDER = "audio"
"""The audio rendition's segments and playlists, inside the stream folder."""
MASTER = f"{STREAM}/{MASTER_NAME}"
"""output_0's master playlist, from the job folder."""


def stream_folder(output: str) -> str:
    """Storage folder of an output endpoint's stream: ``stream`` for output_0."""
    suffix = output.removeprefix("output_")
    return STREAM if suffix == "0" else f"{STREAM}_{suffix}"


def segment_key(output: str, index: int) -> str:
    """Where chunk ``index``'s segment of ``output`` is written."""
    return f"{stream_folder(output)}/seg_{index:05d}.m4s"


def rendition_key(output_key: str, name: str) -> str:
    """Where rendition ``name`` of the segment at ``output_key`` is written: in the stream's
    subfolder of that name (``stream/h480/seg_00003.m4s``)."""
    folder, _, segment = output_key.rpartition("/")
    return f"{folder}/{name}/{segment}" if folder else f"{name}/{segment}"


def work_key(group: str, index: int, ext: str) -> str:
    """Where chunk ``index``'s intermediate from ``group`` is written."""
    return f"{WORK}/{group}/c{index:05d}.{ext}"


def init_key(output_key: str, init_hash: str) -> str:
    """Where a segment's init part lives: beside it, named by content so chunks share it."""
    folder = output_key.rpartition("/")[0]
    return f"{folder}/init_{init_hash}.mp4" if folder else f"init_{init_hash}.mp4"
