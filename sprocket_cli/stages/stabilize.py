"""Stabilisation as map-reduce over chunks (ffmpeg's vid.stab, as the original Sprocket did).

``stab_detect`` measures each chunk's motion in parallel (``vidstabdetect``, one frame of
look-back so the chunk's first frame is measured against the one before); the chunks' files
join into the whole file's, byte for byte (:mod:`sprocket_cli.media.vidstab`).
``stab_transform`` then smooths and transforms every chunk in parallel: each reads the
joined motions from its first decoded frame on, and decodes ``smoothing`` frames either side
of its own, the window vid.stab's Gaussian smoothing reads; the zoom vid.stab would pick from
the whole file is given to every chunk. The result equals ``vidstabtransform=optalgo=gauss:
crop=black`` over the whole file (its L1 camera path, ``optalgo=opt``, is one optimisation
over every frame, and black borders keep no state from earlier frames).
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from sprocket_cli.media.ffmpeg import filter_path, run_ffmpeg
from sprocket_cli.media.vidstab import read_transforms
from sprocket_cli.stages.base import Binding, PythonStage, Span, Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef


class StabDetectConfig(StageConfig):
    shakiness: int = Field(default=5, ge=1, le=10)
    """How shaky the video is (vid.stab's shakiness): 10 for very shaky."""
    accuracy: int = Field(default=15, ge=1, le=15)
    """How many measurement fields (vid.stab's accuracy)."""


class StabDetect(PythonStage[StabDetectConfig]):
    NAME: ClassVar[str] = "stab_detect"
    DESCRIPTION: ClassVar[str] = "Measure camera motion per chunk (vidstabdetect)"
    INPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("motions",)
    Config: ClassVar[type[StageConfig]] = StabDetectConfig

    def bind(self, config: StabDetectConfig, inputs: Sequence[MediaInfo]) -> Binding:
        return Binding(config, roll=(1, 0))  # each frame is measured against the one before

    def run(self, config: StabDetectConfig, span: Span) -> dict[str, Any]:
        chunk = span.chunk
        start = chunk.start_pts if chunk.lead_pts is None else chunk.lead_pts
        end = "" if chunk.is_last else f":end_pts={chunk.end_pts}"
        with tempfile.TemporaryDirectory(prefix="sprocket-stab-") as tmp:
            result = os.path.join(tmp, "motions.trf")
            detect = f"vidstabdetect=result={filter_path(result)}:shakiness={config.shakiness}"
            run_ffmpeg(
                ["-copyts", "-ss", repr(chunk.seek_seconds), "-noaccurate_seek", "-seek_timestamp", "1",
                 "-i", span.path, "-map", "0:v:0",
                 "-vf", f"trim=start_pts={start}{end},{detect}:accuracy={config.accuracy}",
                 "-f", "null", "-"],
                what=f"measuring motion in chunk {chunk.index}",
                stop=span.stop,
            )  # fmt: skip
            data = Path(result).read_bytes()
        read_transforms(data)  # a chunk's file must be whole before it is joined
        return {"motions": base64.b64encode(data).decode("ascii"), "look_back": chunk.lead_pts is not None}


class StabTransformConfig(StageConfig):
    transforms: str = Field(min_length=1)
    """The joined motions file (``stab_detect``'s chunks, joined)."""
    smoothing: int = Field(default=15, ge=1, le=500)
    """Frames either side the camera path is smoothed over (vid.stab's smoothing)."""
    zoom: float = Field(default=0.0, ge=-100, le=100)
    """Percent to zoom in, so no border shows (what optzoom=1 picks over the whole file)."""


class StabTransform(Stage[StabTransformConfig]):
    NAME: ClassVar[str] = "stab_transform"
    DESCRIPTION: ClassVar[str] = "Smooth the camera path and transform each chunk (vidstabtransform)"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = StabTransformConfig
    REMOTE: ClassVar[bool] = False  # reads the joined motions from the coordinator's disk

    def bind(self, config: StabTransformConfig, inputs: Sequence[MediaInfo]) -> Binding:
        return Binding(config, roll=(config.smoothing, config.smoothing))

    def contribute(self, config: StabTransformConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        if command.scratch is None:
            raise ValueError("stab_transform needs the task's scratch folder")
        motions = read_transforms(Path(config.transforms).read_bytes())
        # The chunk's decoded frames, from its first, plus its window after it.
        stop = chunk.lead_index + chunk.frame_count + 2 * config.smoothing + 1
        part = os.path.join(command.scratch, "motions.trf")
        Path(part).write_bytes(motions.slice(chunk.lead_index, stop).to_bytes())
        command.add_filter(
            f"vidstabtransform=input={filter_path(part)}:smoothing={config.smoothing}:optalgo=gauss"
            f":crop=black:optzoom=0:zoom={config.zoom!r}"
        )
