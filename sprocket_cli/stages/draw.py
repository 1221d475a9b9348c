"""draw: a box around the recognised face, on every frame of the scenes where it was found.

Recognition samples every n-th frame (paper §3.3); the paper drew one box per scene and left
interpolation as future work. Here the box moves: between two samples its edges move linearly
in time, before a scene's first sample and after its last the nearest sample's box is held,
and the box disappears where samples in the middle of a scene lost the face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from sprocket_cli.stages.base import Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef


class DrawConfig(StageConfig):
    color: str = "yellow"
    """ffmpeg colour name or 0xRRGGBB."""
    thickness: int = Field(default=4, ge=1, le=50)
    """Pixels."""


class Draw(Stage):
    NAME: ClassVar[str] = "draw"
    DESCRIPTION: ClassVar[str] = "Draw the recognised faces' boxes, moving between samples"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames", "faces")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = DrawConfig

    def contribute(self, config: StageConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        assert isinstance(config, DrawConfig)
        scenes = [s for facts in command.context.values() for s in facts.get("scenes", [])]
        for scene in scenes:
            if scene.get("matched"):
                for fragment in _boxes(scene, config, float(chunk.start_seconds), float(chunk.end_seconds)):
                    command.add_filter(fragment)


def _boxes(scene: dict[str, Any], config: DrawConfig, lo: float, hi: float) -> list[str]:
    """drawbox filters for one scene's samples, limited to the chunk's time range [lo, hi)."""
    num, den = scene["tb"]
    start, end = scene["start_pts"] * num / den, scene["end_pts"] * num / den
    samples = [(s["pts"] * num / den, s["box"]) for s in scene["samples"]]  # t as in the graph (copyts)
    if not samples:
        return []
    # Each sample's box shows from its time to the next sample's, gliding to that sample's box
    # when it has one; the first box also covers the scene's start, the last one its end.
    times = [start, *(t for t, _ in samples[1:]), end]
    filters = []
    for i, (_, box) in enumerate(samples):
        t0, t1 = times[i], times[i + 1]
        after = samples[i + 1][1] if i + 1 < len(samples) else None
        if box is None or t1 <= lo or t0 >= hi or t1 <= t0:
            continue
        target = after if after is not None else box
        x, y, right, bottom = (_glide(box[k], target[k], t0, t1) for k in range(4))
        filters.append(
            f"drawbox=x='{x}':y='{y}':w='({right})-({x})':h='({bottom})-({y})'"
            f":color={config.color}:t={config.thickness}:enable='gte(t,{t0!r})*lt(t,{t1!r})'"
        )
    return filters


def _glide(v0: float, v1: float, t0: float, t1: float) -> str:
    """An expression in ``t`` moving from ``v0`` at ``t0`` to ``v1`` at ``t1``."""
    if v0 == v1:
        return f"{v0!r}"
    return f"{v0!r}+({v1 - v0!r})*(t-{t0!r})/{t1 - t0!r}"
