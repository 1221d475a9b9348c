"""Which ffmpeg to run, and running it without a shell."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Sequence

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


def run_ffmpeg(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``args`` (no binary name); raise :class:`FfmpegError` naming ``what``."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FfmpegError(f"{what}: {last_error_lines(proc.stderr)}")
    return proc


def last_error_lines(stderr: str) -> str:
    """ffmpeg's last few meaningful stderr lines joined on one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return " | ".join(lines[-_ERROR_LINES:]) or "ffmpeg failed without a message"
