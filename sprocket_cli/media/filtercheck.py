"""Try a filter chain on one frame before a job launches, so a typo fails in a second."""

from __future__ import annotations

import ffmpeg

from sprocket_cli.errors import BadFilterError, FfmpegError
from sprocket_cli.media.command import ENCODER_INPUT
from sprocket_cli.media.ffmpeg import run_ffmpeg


def check_filter(source: str, vf: str) -> None:
    """Run ``vf`` and the encoder on the first frame of ``source``; raise :class:`BadFilterError`."""
    stream = ffmpeg.input(source)["v:0"]
    out = ffmpeg.output(
        stream,
        "-",
        vf=f"{vf},{ENCODER_INPUT}",
        vframes=1,
        an=None,
        format="null",
        **{"c:v": "libx264"},
    )
    try:
        run_ffmpeg([str(a) for a in ffmpeg.get_args(out)], what=f"filter {vf!r}")
    except FfmpegError as exc:
        raise BadFilterError(str(exc)) from None


def check_audio_filter(source: str, af: str) -> None:
    """Run ``af`` over the first half second of ``source``'s audio; raise :class:`BadFilterError`."""
    args = ["-i", source, "-map", "0:a:0?", "-af", af, "-t", "0.5", "-f", "null", "-"]
    try:
        run_ffmpeg(args, what=f"audio filter {af!r}")
    except FfmpegError as exc:
        raise BadFilterError(str(exc)) from None
