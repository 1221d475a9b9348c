"""The final file: the stream's segments laid end to end, remuxed with the source's audio tracks,
subtitles, attachments, chapters, start timecode and global tags into the container the output's
suffix names (MP4, MOV, Matroska, WebM).

Nothing is re-encoded: video is stream-copied from the segments and each audio track from the
source (transcoded only when the container cannot carry its codec beside the video:
:func:`~sprocket_cli.media.containers.audio_target`; subtitles likewise,
:func:`~sprocket_cli.media.containers.subtitle_target`). The file is written under a
temporary name beside the destination and renamed into place; the rename replaces only what
the job may replace (:func:`publish`), and ends the job's hold on the path.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sprocket_cli.errors import DiskFullError, FfmpegError, OutputError
from sprocket_cli.jobs.leftovers import JOINED_VIDEO, PART_SUFFIX
from sprocket_cli.jobs.records import check_still_held, file_identity, held_lock, note_written, unlock_outputs
from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.codecs import BROWSER_CODECS
from sprocket_cli.media.containers import AudioTarget, audio_target, container_for
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import video_stream
from sprocket_cli.output.playlists import SegmentEntry
from sprocket_cli.storage import Storage

#: What mkstemp puts between prefix and suffix: 8 of ``tempfile._RandomNameSequence.characters``.
#: Matched exactly, so that a user's own ``.NAME.something.part`` is never taken for ours.
_MKSTEMP_NAME = "[a-z0-9_]{8}"
#: errnos of file systems that have no hard links (FAT, some FUSE and network mounts).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def _temp_prefix(dest: Path) -> str:
    return f".{dest.name}."


def stale_parts(dest: Path) -> list[Path]:
    """Temporaries an assembly (or report) into ``dest`` left behind when it was killed. Only
    the job holding ``dest``'s lock may remove them: another's could be in use."""
    pattern = re.compile(re.escape(_temp_prefix(dest)) + _MKSTEMP_NAME + re.escape(PART_SUFFIX))
    try:
        names = os.listdir(dest.parent)
    except FileNotFoundError:
        return []
    return sorted(dest.parent / n for n in names if pattern.fullmatch(n))


def remove_stale_parts(dest: Path) -> None:
    for part in stale_parts(dest):
        part.unlink(missing_ok=True)


def assemble(
    storage: Storage,
    folder: str,
    entries: list[SegmentEntry],
    audio: AudioPlan,
    dest: Path,
    work_dir: Path,
) -> list[str]:
    """Write ``dest`` from the segments in ``folder`` plus the output's ``audio``; return a
    line on what became of each audio and subtitle track (copied, transcoded or dropped, and
    why)."""
    try:
        return _assemble(storage, folder, entries, audio, dest, work_dir)
    finally:
        unlock_outputs([dest])  # the file is in place, or the job ends here with an error


def _assemble(
    storage: Storage, folder: str, entries: list[SegmentEntry], audio: AudioPlan, dest: Path, work_dir: Path
) -> list[str]:
    if len({e.init_uri for e in entries}) != 1:
        raise ValueError("segments with different init segments cannot be joined by stream copy")
    video = work_dir / JOINED_VIDEO
    keys = [f"{folder}/{entries[0].init_uri}", *(f"{folder}/{e.uri}" for e in entries)]
    joined = _segments_in_place(storage, keys)
    if joined is None:
        _join(storage, keys, video)
    # ffmpeg starts each input at 0; a video whose first frame comes later on the source's
    # timeline (a filter that gives no frame for the first ones, or a source whose audio
    # starts first) keeps that delay to the audio.
    first = entries[0].start_ticks / entries[0].timescale + audio.video_lead
    delay = ["-itsoffset", repr(first)] if first > 0 else []
    source = joined or str(video)
    args = [*delay, "-i", source, *audio.inputs(), "-map", "0:v:0", "-c:v", "copy"]
    codec, tags = video_stream(source)
    args += _video_tags(audio, tags)  # before the plan's timecode, which stays
    container = container_for(dest)
    said: list[str] = []
    if audio.parts:

        def target(source_codec: str) -> AudioTarget:
            return audio_target(container, codec, source_codec)

        carried = audio.carried(1, target, container)
        args += carried.args
        said = carried.said
    else:
        args += audio.alone()
    if container.movflags and codec in BROWSER_CODECS:
        # The index first, for players that start before the whole file is there. A master
        # (ProRes, DNxHR) goes to an editing system, which reads the index wherever it is:
        # the second pass would rewrite a file of gigabytes once more.
        args += ["-movflags", "+faststart"]
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=_temp_prefix(dest), suffix=PART_SUFFIX)
        os.close(fd)
        try:
            run_ffmpeg([*args, "-f", container.muxer, "-y", tmp], what=f"assembling {dest}")
            publish(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except FfmpegError as exc:
        if "No space left on device" in exc.stderr:
            raise DiskFullError(f"{dest}: No space left on device") from None
        raise
    finally:
        video.unlink(missing_ok=True)
    return said


def _video_tags(audio: AudioPlan, joined: Mapping[str, str]) -> list[str]:
    """The output video's tags as plain ``ffmpeg -vf`` writes them: the source video's that the
    plan carries, and the encoder's name. The joined segments' other tags are the workers'
    muxer's (handler "VideoHandler", language "und"), not the source's: each is cleared (an
    empty value), so that the output's muxer writes its own default or nothing."""
    encoder = [(key, value) for key, value in joined.items() if key.lower() == "encoder"]
    tags = [*((key, "") for key in joined), *audio.video_tags, *encoder]
    return [arg for key, value in tags for arg in ("-metadata:s:v:0", f"{key}={value}")]


#: The longest argument Linux takes (MAX_ARG_STRLEN is 128 KiB), with room to spare.
_LONGEST_ARGUMENT = 120_000


def _segments_in_place(storage: Storage, keys: list[str]) -> str | None:
    """ffmpeg's concat protocol over the segments where the storage keeps them as local files,
    so that they are read once, where they are (a 60 s DNxHR HQ master is 1.4 GB, and its copy
    into one file took seconds); None where they are not, or the list would not fit."""
    paths = [storage.local_path(key) for key in keys]
    if any(path is None or "|" in path for path in paths):
        return None
    url = "concat:" + "|".join(p for p in paths if p is not None)
    return url if len(url.encode()) < _LONGEST_ARGUMENT else None


def _join(storage: Storage, keys: list[str], video: Path) -> None:
    """Copy the parts under ``keys`` into ``video``, one after the other."""
    try:
        with video.open("wb") as f:
            for key in keys:
                f.write(storage.get_bytes(key))
    except BaseException as exc:
        video.unlink(missing_ok=True)  # half a video, on the disk that may have no room for it
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFullError(f"{video}: No space left on device") from None
        raise


def write_report(dest: Path, facts: list[dict[str, Any]]) -> None:
    """A facts output (scenes, faces) as one JSON document, written aside and renamed into place."""
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=_temp_prefix(dest), suffix=PART_SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(facts, f, indent=1)
            publish(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:  # a failed write names no file: name the one asked for
            raise DiskFullError(f"{dest}: No space left on device") from None
        raise
    finally:
        unlock_outputs([dest])


def publish(tmp: str, dest: Path) -> None:
    """Rename the finished ``tmp`` over ``dest``, with the permissions a new file gets here.

    mkstemp makes its file readable by its owner only (0600); the user's output should read
    like any file they create (0644 under the usual umask). The umask is read by setting it,
    which is safe here: files are assembled after the job's side threads have finished.

    The job holding ``dest`` replaces a file there only with --overwrite or when it is the one
    file the job may replace (:attr:`~sprocket_cli.jobs.records.OutputLock.replaceable`); otherwise a
    file that appeared since the job started is kept and :class:`OutputError` says so. The
    caller removes ``tmp``.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    lock = held_lock(dest)
    if lock is None:  # not a job's output: nothing to keep apart
        os.replace(tmp, dest)
        return
    check_still_held(lock)
    # Recorded before the rename (which keeps the identity), so that a resume after a kill
    # right after it knows the file for the job's own.
    note_written(lock, file_identity(tmp))
    found = file_identity(dest)
    if lock.overwrite or (found is not None and found == lock.replaceable):
        os.replace(tmp, dest)
        return
    refused = OutputError(
        f"{dest}: someone else wrote this file after job {lock.job_id} started; kept it "
        "(move it away and `sprocket resume` the job, or run it with --overwrite)"
    )
    try:
        os.link(tmp, dest)  # unlike a rename, fails if dest exists: no window to lose a file in
    except FileExistsError:
        raise refused from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if dest.exists():
            raise refused from None
        os.replace(tmp, dest)
