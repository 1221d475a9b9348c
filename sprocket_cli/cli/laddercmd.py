"""``sprocket filter --ladder``: where the renditions go, checked before the probe."""

from __future__ import annotations

from pathlib import Path


def ladder_output(
    text: str, output: Path | None, default: Path, codec: str, target_vmaf: float | None
) -> tuple[list[int], Path]:
    """The ladder's heights (tallest first) and the folder its stream goes to: ``output``, or
    ``default`` without its suffix. :class:`OptionError` for heights that cannot be encoded, a
    codec that cannot stream, or an ``output`` that names a file."""
    from sprocket_cli.media.renditions import parse_ladder
    from sprocket_cli.output.folder import check_ladder_output
    from sprocket_cli.stages.encode import check_ladder_codec

    heights = parse_ladder(text)
    check_ladder_codec(codec, target_vmaf)
    if output is None:
        return heights, default.with_suffix("")
    check_ladder_output(output)
    return heights, output
