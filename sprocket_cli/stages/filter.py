"""filter: any ffmpeg video filter chain over frames (``hue=s=0``, ``scale=640:-2,fps=10``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from sprocket_cli.stages.base import Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef


class FilterConfig(StageConfig):
    vf: str = Field(min_length=1, description="ffmpeg filter chain, as given to ffmpeg -vf")


class Filter(Stage):
    NAME: ClassVar[str] = "filter"
    DESCRIPTION: ClassVar[str] = "Apply an ffmpeg filter chain to every frame"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = FilterConfig

    def contribute(self, config: StageConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        assert isinstance(config, FilterConfig)
        command.add_filter(config.vf)
        if not chunk.is_last:
            # A rate-changing filter (fps=) may emit a frame at the chunk's end time, which
            # belongs to the next chunk.
            command.end_seconds = chunk.end_seconds
