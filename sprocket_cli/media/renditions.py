"""More than one encode of a chunk from one decode: an adaptive ladder, or an H.264 preview.

A task's ffmpeg process decodes and filters its chunk once, splits the frames, and gives each
rendition its own scale and encoder (:class:`~sprocket_cli.media.command.ChunkCommand`'s extra
outputs). The task's main output stays where it always is (the ladder's top rendition, or the
master segment); each other rendition is a segment of its own in a subfolder of the stream,
stored by :func:`store_renditions` and listed in the result's meta for the playlists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sprocket_cli.errors import OptionError
from sprocket_cli.media.codecs import encoder_options
from sprocket_cli.media.fmp4 import EmptySegment, Segment, make_segment
from sprocket_cli.storage.layout import init_key, rendition_key

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.storage import Storage

#: Lines of the H.264 preview of a master a browser cannot play (fewer when the source has
#: fewer): enough to follow the job and judge a grade, and cheap beside the master's encode.
#: At 540 lines it cost 60 % of a 1080p DNxHR HQ encode's CPU (decode aside), at 360 about
#: 40 %, measured with one thread each.
PREVIEW_HEIGHT = 360
#: The preview's name: its subfolder of the stream.
PREVIEW = "preview"


@dataclass(frozen=True)
class Rendition:
    """One more output of a task's ffmpeg process."""

    name: str
    """Its subfolder of the stream (``h480``, ``preview``)."""
    scale: str
    """The filter that sizes its frames after the split."""
    encoder: dict[str, str]
    """Its ffmpeg output options."""
    segment_format: str = "mp4"
    replaces_main: bool = False
    """Players are offered this one instead of the main output (the preview of a ProRes master)."""

    def path(self, main_path: str) -> str:
        """Where ffmpeg writes it, beside the main output at ``main_path``."""
        return f"{main_path}.{self.name}"


def scale_to(height: int) -> str:
    """Frames ``height`` lines high, the width keeping the aspect ratio (and even)."""
    return f"scale=-2:{height}"


def preview() -> Rendition:
    """The H.264 preview: at most :data:`PREVIEW_HEIGHT` lines, 8-bit 4:2:0 (what every browser
    decodes), at x264's veryfast."""
    return Rendition(
        PREVIEW,
        f"scale=-2:'min(ih,{PREVIEW_HEIGHT})'",
        encoder_options("libx264", preset="veryfast", pix_fmt="yuv420p"),
        replaces_main=True,
    )


def ladder_renditions(heights: list[int], encoder: dict[str, str], segment_format: str) -> list[Rendition]:
    """The ladder's renditions below its top one (which is the task's main output)."""
    return [Rendition(f"h{h}", scale_to(h), dict(encoder), segment_format) for h in heights[1:]]


def parse_ladder(text: str) -> list[int]:
    """``"1080,720,480"`` as heights, tallest first; :class:`OptionError` for anything else."""
    try:
        heights = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise OptionError("ladder", f"{text!r}: takes heights in lines, like 1080,720,480") from None
    return check_heights(heights)


def check_heights(heights: list[int]) -> list[int]:
    """``heights`` tallest first, once each; :class:`OptionError` if one cannot be encoded."""
    if not heights:
        raise OptionError("ladder", "takes at least one height, like 1080,720,480")
    odd = [h for h in heights if h < 2 or h % 2]
    if odd:
        raise OptionError("ladder", f"{odd[0]}: heights are even numbers of lines (4:2:0 video)")
    return sorted(set(heights), reverse=True)


def check_ladder(heights: list[int], source: MediaInfo) -> None:
    """:class:`OptionError` when a rung is taller than the source as displayed: a ladder only
    scales down (ffmpeg would upscale, which spends bits on detail the source does not have).
    The rungs scale the picture ffmpeg decodes, turned upright by the source's rotation, so a
    phone's 1920x1080 portrait clip (rotation 90) is 1920 lines high, not 1080."""
    lines = source.display_height
    above = [h for h in heights if h > lines]
    if above:
        turned = f" as displayed (rotated {source.rotation}°)" if lines != source.height else ""
        raise OptionError(
            "ladder",
            f"{above[0]}: above the source's {lines} lines{turned}; a ladder only scales down",
        )


def store_segment(segment: Segment, key: str, storage: Storage) -> tuple[str, bool]:
    """Store ``segment`` under ``key`` and its init part once under its own key. The media part
    is exclusive: of copies of a task racing, the first to store keeps its segment, which its
    init fits. Return the init's key, and whether this call stored the segment."""
    ikey = init_key(key, segment.init_hash)
    if not storage.exists(ikey):
        storage.put_bytes(ikey, segment.init)
    return ikey, storage.put_file(key, segment.media_path, exclusive=True)


def store_renditions(
    command: ChunkCommand, start_ticks: int, key: str, main_path: str, storage: Storage
) -> list[dict[str, Any]]:
    """Store each rendition ffmpeg wrote beside ``main_path`` as a segment beside ``key``'s
    (in its subfolder), before the main output is stored: that one marks the task done.
    Return what the playlists need of each."""
    stored = []
    for rendition in command.renditions:
        try:
            segment = make_segment(rendition.path(main_path), start_ticks)
        except EmptySegment:
            continue  # the filters left no frame: the main output says so
        rkey = rendition_key(key, rendition.name)
        ikey, _ = store_segment(segment, rkey, storage)
        stored.append(
            {
                "name": rendition.name,
                "output_key": rkey,
                "init_key": ikey,
                "duration_ticks": segment.duration,
                "codec": segment.codec,
                "width": segment.width,
                "height": segment.height,
                "frames": segment.frames,
                "bytes": segment.media_bytes,
                "replaces_main": rendition.replaces_main,
            }
        )
    return stored
