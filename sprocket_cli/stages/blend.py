"""blend: two videos superimposed frame by frame, paired by presentation time (paper §3.5.4).

Its ports take the first input's frames (``frames_0``, "a") and the second's (``frames_1``,
"b"); the job cuts b on a's chunk spans (:func:`~sprocket_cli.media.chunking.align_chunks`),
so each task holds the same stretch of time of both. The filter graph and its pairing rule
are in :mod:`sprocket_cli.media.blendgraph`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import model_validator

from sprocket_cli.errors import UsageError
from sprocket_cli.media.blendgraph import VideoShape, chunk_blend, output_end_pts
from sprocket_cli.media.blendoptions import BlendOptions
from sprocket_cli.media.command import JOINED
from sprocket_cli.stages.base import Binding, Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef


class BlendConfig(StageConfig):
    mode: str = "normal"
    """An ffmpeg blend mode (normal, overlay, screen, multiply, difference, addition, ...) or
    ``chroma`` (green screen: b's key colour lets a show through)."""
    opacity: float = 0.5
    """0..1: how much of b's effect shows."""
    key_color: str = "0x00FF00"
    similarity: float = 0.3
    blend_edge: float = 0.0
    fit: str = "pad"
    """How b is brought to a's size: pad, crop or stretch."""
    offset: float = 0.0
    """Seconds into a at which b's first frame appears (negative: skip into b)."""
    duration: str = "first"
    """first (a's length), shortest or longest."""
    shapes: tuple[dict[str, Any], dict[str, Any]] | None = None
    """a's and b's geometry and clocks, filled in from the probe when the job is planned."""

    @model_validator(mode="after")
    def _valid(self) -> BlendConfig:
        try:
            self.options()
        except UsageError as exc:
            raise ValueError(str(exc)) from None  # pydantic reports it with the node's location
        return self

    def options(self) -> BlendOptions:
        return BlendOptions(
            mode=self.mode,
            opacity=self.opacity,
            key_color=self.key_color,
            similarity=self.similarity,
            blend_edge=self.blend_edge,
            fit=self.fit,
            offset=self.offset,
            duration=self.duration,
        )


def _to_json(shape: VideoShape) -> dict[str, Any]:
    return {**shape.__dict__, "fps": str(shape.fps), "time_base": str(shape.time_base), "sar": str(shape.sar)}


def _from_json(raw: dict[str, Any]) -> VideoShape:
    fractions = {k: Fraction(raw[k]) for k in ("fps", "time_base", "sar")}
    return VideoShape(**{**raw, **fractions})


class Blend(Stage[BlendConfig]):
    NAME: ClassVar[str] = "blend"
    DESCRIPTION: ClassVar[str] = "Superimpose a second video (blend modes, green screen), paired by time"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames_0", "frames_1")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = BlendConfig

    def bind(self, config: BlendConfig, inputs: Sequence[MediaInfo]) -> Binding:
        if len(inputs) < 2:
            raise UsageError("blend needs two inputs: input_0 (a) and input_1 (b)")
        a, b = VideoShape.of(inputs[0]), VideoShape.of(inputs[1])
        options = config.options()
        return Binding(
            config.model_copy(update={"shapes": (_to_json(a), _to_json(b))}),
            offset=options.offset_exact,
            end_pts=output_end_pts(a, b, options),
        )

    def contribute(self, config: BlendConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        if config.shapes is None:
            raise ValueError("blend's config was not bound to the job's inputs")
        a, b = (_from_json(s) for s in config.shapes)
        for lane, shape in enumerate((a, b)):
            # Lanes read from storage come in the intermediate's time base (NUT picks its
            # own); the graph counts in the source's ticks. A no-op on lanes read from source.
            command.add_lane_filter(lane, f"settb={shape.time_base}")
        blend = chunk_blend(
            a,
            b,
            config.options(),
            chunk.start_pts,
            chunk.end_pts,
            a_label=command.lane_label(0),
            b_label=command.lane_label(1),
            out_label=JOINED,
        )
        if blend.b is None:
            command.drop_lane(1)  # b shows nowhere in this chunk: do not even open it
        command.join(blend.filter_complex)
