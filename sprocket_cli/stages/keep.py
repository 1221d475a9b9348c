"""scene_keep: only the scenes where the person was found, with the timeline closed up.

The paper's SceneKeep variant (§3.3). Each chunk keeps the frames inside matched scenes and
shifts them back by the time dropped before them, so the output plays the kept scenes one
after another with no gap. The ``kept_scenes`` delivery function gives every chunk the kept
spans from the video's start up to the chunk's end, which is what the shift needs; a chunk
with nothing kept becomes an empty segment that the stream leaves out.

The kept frames carry the face's box, as ``find-face`` without ``--keep-only`` draws it: the
delivery also hands over the matched scenes the chunk overlaps, and the box goes on before the
frames are picked, while they still have the source's times. It is drawn here rather than by a
``draw`` node before this one: the two would share one task (one ffmpeg process), and a task
takes its facts from one delivery function, this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.stages.base import Stage, StageConfig
from sprocket_cli.stages.draw import DrawConfig, draw_boxes

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef

Span = tuple[int, int]
"""[start, end) in the source's pts ticks."""


class KeepConfig(DrawConfig):
    box: bool = True
    """Draw the face's box on the kept frames (``color``, ``thickness`` as draw's)."""


class SceneKeep(Stage[KeepConfig]):
    NAME: ClassVar[str] = "scene_keep"
    DESCRIPTION: ClassVar[str] = "Keep only the scenes where the person was found, boxed, gaps closed"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames", "faces")
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = KeepConfig

    def contribute(self, config: KeepConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        kept = sorted(tuple(span) for facts in command.context.values() for span in facts.get("kept", []))
        end = None if chunk.is_last else chunk.end_pts
        inside = [
            (max(a, chunk.start_pts), b if end is None else min(b, end))
            for a, b in kept
            if (end is None or a < end) and b > chunk.start_pts
        ]
        if not inside:
            command.skip = True
            return
        if config.box:
            draw_boxes(config, command, chunk)
        # Each kept frame moves back by the time dropped before its span: it lands at the
        # kept time before the span's start, plus its place in the span.
        shifts = [(a, a - kept_before(kept, a)) for a, _ in inside]
        # The last chunk keeps its last span to the end of the stream (its end_pts is no frame).
        pick = "+".join(
            f"gte(pts,{a})" + ("" if end is None and b >= chunk.end_pts else f"*lt(pts,{b})")
            for a, b in inside
        )
        move = f"PTS-{shifts[0][1]}"
        for a, shift in shifts[1:]:
            move = f"if(gte(PTS,{a}),PTS-{shift},{move})"
        command.add_filter(f"select='{pick}'")
        command.add_filter(f"setpts='{move}'")
        first = inside[0][0]
        command.start_ticks = round(kept_before(kept, first) * chunk.time_base * chunk.timescale)


def kept_before(kept: list[Span], pts: int) -> int:
    """Ticks of kept video before ``pts``: where ``pts`` lands on the closed-up timeline."""
    return sum(min(b, pts) - a for a, b in kept if a < pts)
