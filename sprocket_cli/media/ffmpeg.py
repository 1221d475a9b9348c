"""Which ffmpeg to run, and running it without a shell."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence

from sprocket_cli.errors import FfmpegError

#: How many of ffmpeg's last stderr lines an error message keeps.
_ERROR_LINES = 3


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$SPROCKET_FFMPEG`` if set, else imageio-ffmpeg's static build."""
    chosen = os.environ.get("SPROCKET_FFMPEG")
    if chosen:
        return chosen
    import imageio_ffmpeg  # lazy: only needed when ffmpeg actually runs

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def filter_path(path: str) -> str:
    """A path as a filter option value (``:`` and ``\\`` are special there)."""
    return path.replace("\\", "\\\\").replace(":", "\\:")


#: Seconds between checks of a ``stop`` condition while ffmpeg runs.
STOP_POLL = 0.1


class Stopped(Exception):
    """ffmpeg was killed because its ``stop`` condition became true (its work is not needed)."""


def run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    stop: Callable[[], bool] | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``args`` (no binary name); raise :class:`FfmpegError` naming ``what``.

    With ``stop``, ffmpeg is killed as soon as ``stop()`` is true, raising :class:`Stopped`:
    a duplicate of a task stops when another copy has delivered the result. ``on_frames`` is
    told the frames written so far, about every :data:`PROGRESS_PERIOD` seconds.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if stop is None and on_frames is None:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    else:
        proc = _run_watched(cmd, stop or (lambda: False), on_frames)
    if proc.returncode != 0:
        raise FfmpegError(f"{what}: {last_error_lines(proc.stderr)}")
    return proc


#: Seconds between ffmpeg's progress reports.
PROGRESS_PERIOD = 0.5
_FRAME = re.compile(rb"^frame=(\d+)$", re.MULTILINE)


def _run_watched(
    cmd: list[str], stop: Callable[[], bool], on_frames: Callable[[int], None] | None
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="sprocket-ffmpeg-") as tmp:
        progress = os.path.join(tmp, "progress")
        if on_frames is not None:
            # -progress writes key=value blocks to a file we read as it grows, instead of
            # parsing stderr, which must stay free for error messages.
            cmd = [cmd[0], "-progress", progress, "-stats_period", str(PROGRESS_PERIOD), *cmd[1:]]
        read = 0
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
            while True:
                try:
                    out, err = proc.communicate(timeout=STOP_POLL)
                    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
                except subprocess.TimeoutExpired:
                    if stop():
                        proc.kill()
                        proc.communicate()
                        raise Stopped from None
                    if on_frames is not None and os.path.exists(progress):
                        with open(progress, "rb") as f:
                            f.seek(read)
                            text = f.read()
                        whole = text[: text.rfind(b"\n") + 1]  # a line being written waits
                        read += len(whole)
                        frames = _FRAME.findall(whole)
                        if frames:
                            on_frames(int(frames[-1]))


def last_error_lines(stderr: str) -> str:
    """ffmpeg's last few meaningful stderr lines joined on one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return " | ".join(lines[-_ERROR_LINES:]) or "ffmpeg failed without a message"
