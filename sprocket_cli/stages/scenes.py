"""scene_change: where the picture cuts, per chunk (paper §3.3's SceneChange).

ffmpeg's ``scdet`` filter scores each frame against the one before it; a frame scoring over
the threshold starts a new scene. A chunk's first frame has no "before" inside the chunk, so
each task decodes from a keyframe at least :attr:`SceneChange.LOOK_BACK` seconds earlier: a cut exactly on
a chunk boundary is found by the chunk it starts. The ``scenes`` delivery function then joins
the chunks' cuts into whole scenes, which may span several chunks.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from sprocket_cli.media.ffmpeg import filter_path, run_ffmpeg
from sprocket_cli.stages.base import PythonStage, Span, StageConfig

_CUT = re.compile(r"^frame:\d+\s+pts:(-?\d+)", re.MULTILINE)


class SceneChangeConfig(StageConfig):
    threshold: float = Field(default=10.0, gt=0, le=100)
    """scdet score (0-100) over which a frame starts a new scene; lower finds softer cuts."""


class SceneChange(PythonStage[SceneChangeConfig]):
    NAME: ClassVar[str] = "scene_change"
    DESCRIPTION: ClassVar[str] = "Find the scene cuts in each chunk (ffmpeg scdet)"
    INPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("cuts",)
    Config: ClassVar[type[StageConfig]] = SceneChangeConfig
    # scdet scores a frame by the two before it; a second reaches a keyframe in most sources.
    LOOK_BACK: ClassVar[float] = 1.0

    def run(self, config: SceneChangeConfig, span: Span) -> dict[str, Any]:
        chunk = span.chunk
        with tempfile.TemporaryDirectory(prefix="sprocket-scenes-") as tmp:
            found = os.path.join(tmp, "cuts.txt")
            graph = [
                f"scdet=threshold={config.threshold!r}",
                f"metadata=print:key=lavfi.scd.time:file={filter_path(found)}",
            ]
            if not chunk.is_last:
                graph.insert(0, f"trim=end_pts={chunk.end_pts}")
            seek = max(0.0, chunk.start_seconds - self.LOOK_BACK)
            run_ffmpeg(
                ["-copyts", "-ss", repr(seek), "-noaccurate_seek", "-seek_timestamp", "1",
                 "-i", span.path, "-map", "0:v:0", "-vf", ",".join(graph), "-f", "null", "-"],
                what=f"finding scene cuts in chunk {chunk.index}",
                stop=span.stop,
            )  # fmt: skip
            text = Path(found).read_text(encoding="utf-8") if os.path.exists(found) else ""
        # The video's first frame starts a scene without a cut; look-back frames are not ours.
        cuts = {int(p) for p in _CUT.findall(text)} - {chunk.origin_pts}
        return {"cuts": sorted(p for p in cuts if chunk.start_pts <= p < chunk.end_pts)}
