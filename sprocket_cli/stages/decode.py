"""decode: compressed source chunk -> frames, exactly the chunk's frames and no others."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.stages.base import Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef


class Decode(Stage[StageConfig]):
    NAME: ClassVar[str] = "decode"
    DESCRIPTION: ClassVar[str] = "Decode a keyframe-aligned chunk of the source into frames"
    INPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)

    def contribute(self, config: StageConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        command.seek_seconds = chunk.seek_seconds
        # Trim by pts in the stream's own ticks: exact, whatever the frame rate. A chunk for
        # windowed filters also keeps its neighbours' frames they read; the command drops
        # them again after every filter ran.
        start = chunk.start_pts if chunk.lead_pts is None else chunk.lead_pts
        end_pts = chunk.end_pts if chunk.tail_pts is None else chunk.tail_pts
        # The last chunk reads to the video's end, unless a cut ends it earlier (its tail).
        end = "" if chunk.is_last and chunk.tail_pts is None else f":end_pts={end_pts}"
        command.add_filter(f"trim=start_pts={start}{end}")
        if chunk.rolled:
            command.keep = (chunk.start_seconds, None if chunk.is_last else chunk.end_seconds)
