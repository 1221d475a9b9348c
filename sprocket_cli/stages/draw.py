"""draw: a box around the recognised face, on every frame of the scenes where it was found.

Recognition samples every n-th frame (paper §3.3); the paper drew one box per scene and left
interpolation as future work. Here the box moves with the face: ``find_faces`` tracks it on
every frame between samples (its ``track``), and draw puts the box where the track says.
Where a scene has no track (``find_faces`` without dlib, or with ``track`` off), the box's
edges move linearly in time between two samples, the last sample's box is held to the scene's
end, and the box disappears where samples in the middle of a scene lost the face.
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


class Draw(Stage[DrawConfig]):
    NAME: ClassVar[str] = "draw"
    DESCRIPTION: ClassVar[str] = "Draw the recognised face's box, following it between samples"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames", "faces")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = DrawConfig

    def contribute(self, config: DrawConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        draw_boxes(config, command, chunk)


def draw_boxes(config: DrawConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
    """Add the box of every matched scene in the facts delivered to ``command`` that shows on
    ``chunk``; nothing when none does. Filters see the source's times (copyts)."""
    scenes = [s for facts in command.context.values() for s in facts.get("scenes", [])]
    lo, hi = float(chunk.start_seconds), float(chunk.end_seconds) if not chunk.is_last else float("inf")
    moves: list[Move] = []
    shown: list[tuple[float, float]] = []
    for scene in scenes:
        if scene.get("matched"):
            for t0, t1, path in _paths(scene):
                if t1 > lo and t0 < hi:
                    shown.append((t0, t1))
                    moves += _within(path, lo, hi)
    if not moves:
        return
    # drawbox's expressions cannot see the time (its ``t`` is the line thickness), so the
    # box is moved by commands: sendcmd sets its edges at each frame's time.
    moves.sort()
    steps = ";".join(
        f"{t!r} {_BOX} x {x}, {_BOX} y {y}, {_BOX} w {w}, {_BOX} h {h}" for t, (x, y, w, h) in moves
    )
    enable = "+".join(f"gte(t,{a!r})*lt(t,{b!r})" for a, b in shown)
    x, y, w, h = moves[0][1]
    command.add_filter(f"sendcmd=c='{steps}'")
    command.add_filter(
        f"{_BOX}=x={x}:y={y}:w={w}:h={h}:color={config.color}:t={config.thickness}:enable='{enable}'"
    )


#: The box filter's instance name, which sendcmd's commands address.
_BOX = "drawbox@face"

#: The box from a time on, seconds: (t, (x, y, width, height)) in pixels.
Move = tuple[float, tuple[int, int, int, int]]
#: A stretch of a scene that shows a box: (from, to, its moves), seconds.
Stretch = tuple[float, float, list[Move]]


def _within(path: list[Move], lo: float, hi: float) -> list[Move]:
    """The moves of ``path`` that place the box in [lo, hi): the last one before ``lo`` and
    those up to ``hi``. A chunk's command carries only these: the filter graph is one argument
    of ffmpeg's, which Linux caps at 128 KiB, and a long scene has a move for every frame."""
    before = [m for m in path if m[0] <= lo][-1:]
    return before + [m for m in path if lo < m[0] < hi]


def _paths(scene: dict[str, Any]) -> list[Stretch]:
    """(from, to, the box at each frame time) for each stretch of a scene that shows a box."""
    num, den = scene["tb"]
    if "track" in scene:  # t as in the graph (copyts)
        return [
            (
                a * num / den,
                b * num / den,
                [(p * num / den, (x0, y0, x1 - x0, y1 - y0)) for p, x0, y0, x1, y1 in boxes],
            )
            for a, b, boxes in scene["track"]
        ]
    return _between_samples(scene)


def _between_samples(scene: dict[str, Any]) -> list[Stretch]:
    """The stretches of an untracked scene: each sample's box shows from its time to the next
    sample's, gliding frame by frame to that sample's box when it has one; the first box also
    covers the scene's start, the last one its end. ``every`` frames lie between samples.
    """
    num, den = scene["tb"]
    start, end = scene["start_pts"] * num / den, scene["end_pts"] * num / den
    samples = [(s["pts"] * num / den, s["box"]) for s in scene["samples"]]
    every = max(1, int(scene.get("every", 1)))
    times = [start, *(t for t, _ in samples[1:]), end]
    paths = []
    for i, (_, box) in enumerate(samples):
        t0, t1 = times[i], times[i + 1]
        if box is None or t1 <= t0:
            continue
        after = samples[i + 1][1] if i + 1 < len(samples) else None
        target = after if after is not None else box
        path = []
        for k in range(every):
            f = k / every
            left, top, right, bottom = (round(box[j] + (target[j] - box[j]) * f) for j in range(4))
            path.append((t0 + (t1 - t0) * f, (left, top, right - left, bottom - top)))
        paths.append((t0, t1, path))
    return paths
