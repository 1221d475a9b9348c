"""``sprocket filter --ladder``: where the renditions go, checked before the probe."""

from __future__ import annotations

from pathlib import Path

from sprocket_cli.errors import OptionError


def ladder_output(
    text: str, output: Path | None, default: Path, codec: str, target_vmaf: float | None
) -> tuple[list[int], Path]:
    """The ladder's heights (tallest first) and the folder its stream goes to: ``output``, or
    ``default`` without its suffix. :class:`OptionError` for heights that cannot be encoded, a
    codec that cannot stream, or an ``output`` that names a file."""
    from sprocket_cli.media.renditions import parse_ladder
    from sprocket_cli.stages.encode import check_ladder_codec

    heights = parse_ladder(text)
    check_ladder_codec(codec, target_vmaf)
    if output is None:
        return heights, default.with_suffix("")
    if output.is_file() or (output.suffix and not output.is_dir()):
        raise OptionError(
            "ladder",
            f"writes a stream (HLS and DASH) into a folder, and {output} is a file: name a folder (-o out/)",
        )
    return heights, output
