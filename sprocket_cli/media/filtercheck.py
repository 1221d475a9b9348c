"""Try a filter chain and the encoder on one frame before a job launches, so a typo fails in a
second instead of on every chunk."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sprocket_cli.errors import BadEncoderError, BadFilterError, FfmpegError, OptionError
from sprocket_cli.media.codecs import check_pix_fmt
from sprocket_cli.media.command import ENCODER_INPUT, SEGMENT_MOVFLAGS
from sprocket_cli.media.containers import MP4, Container
from sprocket_cli.media.ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    from sprocket_cli.plan.complexgraph import ComplexGraph

X264: Mapping[str, str] = {"c:v": "libx264"}


def check_filter(
    source: str,
    vf: str,
    encoder: Mapping[str, str] = X264,
    segment_format: str = "mp4",
    container: Container = MP4,
) -> None:
    """Run ``vf`` and ``encoder`` (ffmpeg output options) on the first frame of ``source``,
    writing a segment as the workers do, then copy it into ``container`` as the final assembly
    does. Raise :class:`BadFilterError`, :class:`BadEncoderError`, or :class:`OptionError`
    naming the encoder and a container it cannot go in."""
    graph = ["-map", "0:v:0", "-vf", f"{vf},{ENCODER_INPUT}"]
    _check(["-i", source], graph, f"filter {vf!r}", encoder, segment_format, container)


def check_filter_complex(
    sources: Sequence[str],
    graph: ComplexGraph,
    encoder: Mapping[str, str] = X264,
    segment_format: str = "mp4",
    container: Container = MP4,
) -> None:
    """:func:`check_filter` for a ``-filter_complex`` graph over ``sources`` (input N is
    ``[N:v]``): the graph runs on the first frame of each input."""
    inputs = [arg for source in sources for arg in ("-i", source)]
    rendered = graph.render({n: f"{n}:v:0" for n in graph.reads}, ENCODER_INPUT, "out")
    args = ["-filter_complex", rendered, "-map", "[out]"]
    _check(inputs, args, f"filter graph {graph.text!r}", encoder, segment_format, container)


def _check(
    inputs: list[str],
    graph: list[str],
    what: str,
    encoder: Mapping[str, str],
    segment_format: str,
    container: Container,
) -> None:
    """Encode one frame of ``graph`` (its ffmpeg options) over ``inputs`` into a segment, then
    remux it into ``container``."""
    if "pix_fmt" in encoder:  # ffmpeg would encode another one, with a warning
        check_pix_fmt(encoder["c:v"], encoder["pix_fmt"])
    first = [*inputs, *graph, "-frames:v", "1", "-an"]
    with tempfile.TemporaryDirectory(prefix="sprocket-check-") as tmp:
        segment = str(Path(tmp) / f"frame.{segment_format}")
        output = ["-f", segment_format, "-movflags", SEGMENT_MOVFLAGS]
        output += [arg for key, value in encoder.items() for arg in (f"-{key}", value)]
        try:
            run_ffmpeg([*first, *output, segment], what=what)
        except FfmpegError as exc:
            _check_filter_alone(first, what)  # the filter is the likelier culprit: say so if it is
            raise BadEncoderError(f"encoder {_spelled(encoder)}: {_reason(exc, 2)}") from None
        if container.muxer == segment_format:
            return  # the segment's own muxer took it already (0.05 s saved before any work)
        final = str(Path(tmp) / "final")
        try:
            run_ffmpeg(["-i", segment, "-c", "copy", "-f", container.muxer, final], what="remux")
        except FfmpegError as exc:
            raise OptionError(
                "codec", f"{encoder['c:v']} cannot go in a {container.name} file: {_reason(exc, 1)}"
            ) from None


def _check_filter_alone(first: list[str], what: str) -> None:
    try:
        run_ffmpeg([*first, "-f", "null", "-"], what=what)
    except FfmpegError as exc:
        # ffmpeg's first lines name the cause (a filter that cannot take its input's size
        # fails once frames arrive, and the lines after it only say that the run failed).
        raise BadFilterError(f"{what}: {_reason(exc, 2)}") from None


def _spelled(encoder: Mapping[str, str]) -> str:
    """The encoder and its options as a user would type them."""
    return " ".join([encoder["c:v"], *(f"-{k} {v}" for k, v in encoder.items() if k != "c:v")])


#: ffmpeg's ``[mov @ 0x55d0]`` before a line (nested for encoders: ``[vost#0:0/x] [enc:x]``).
_CONTEXT = re.compile(r"^(\[[^]]* @ 0x[0-9a-f]+\] )+")
#: What an encoder library logs on its own whatever ffmpeg's log level (SVT-AV1: ``Svt[info]:``).
_CHATTER = re.compile(r"^\w+ ?\[(info|warn|warning)\]")


def _reason(exc: FfmpegError, lines: int) -> str:
    """ffmpeg's first ``lines`` stderr lines, which name the cause (the later ones say that
    the run failed), on one line."""
    said = [_CONTEXT.sub("", line).strip() for line in exc.stderr.splitlines()]
    return " | ".join([line for line in said if line and not _CHATTER.match(line)][:lines]) or str(exc)


def check_audio_filter(source: str, af: str) -> None:
    """Run ``af`` over the first half second of ``source``'s audio; raise :class:`BadFilterError`."""
    args = ["-i", source, "-map", "0:a:0?", "-af", af, "-t", "0.5", "-f", "null", "-"]
    try:
        run_ffmpeg(args, what=f"audio filter {af!r}")
    except FfmpegError as exc:
        raise BadFilterError(str(exc)) from None
