"""Which ffmpeg to run, and running it without a shell."""

from __future__ import annotations

import functools
import os
import subprocess
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


#: Seconds between checks of a ``stop`` condition while ffmpeg runs.
STOP_POLL = 0.1


class Stopped(Exception):
    """ffmpeg was killed because its ``stop`` condition became true (its work is not needed)."""


def run_ffmpeg(
    args: Sequence[str], *, what: str, stop: Callable[[], bool] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``args`` (no binary name); raise :class:`FfmpegError` naming ``what``.

    With ``stop``, ffmpeg is killed as soon as ``stop()`` is true, raising :class:`Stopped`:
    a duplicate of a task stops when another copy has delivered the result.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if stop is None:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    else:
        proc = _run_until(cmd, stop)
    if proc.returncode != 0:
        raise FfmpegError(f"{what}: {last_error_lines(proc.stderr)}")
    return proc


def _run_until(cmd: list[str], stop: Callable[[], bool]) -> subprocess.CompletedProcess[str]:
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


def last_error_lines(stderr: str) -> str:
    """ffmpeg's last few meaningful stderr lines joined on one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return " | ".join(lines[-_ERROR_LINES:]) or "ffmpeg failed without a message"
