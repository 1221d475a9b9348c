"""encode: frames -> an H.264 CMAF segment that starts on a keyframe."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from sprocket_cli.stages.base import Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef

Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow",
]  # fmt: skip


class EncodeConfig(StageConfig):
    preset: Preset = "veryfast"
    """x264 speed/size trade-off."""
    crf: int = Field(default=23, ge=0, le=51)
    """x264 constant rate factor: lower is better quality and larger files."""


class Encode(Stage):
    NAME: ClassVar[str] = "encode"
    DESCRIPTION: ClassVar[str] = "Encode frames as an H.264 CMAF segment (x264)"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    Config: ClassVar[type[StageConfig]] = EncodeConfig

    def contribute(self, config: StageConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        assert isinstance(config, EncodeConfig)
        command.encoder = {"c:v": "libx264", "preset": config.preset, "crf": config.crf}
        command.timescale = chunk.timescale * command.timescale_factor
