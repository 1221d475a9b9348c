"""find_faces: whether a person appears in a scene, and where (paper §3.3's FacialRecognition).

One task per scene (the ``scenes`` delivery function groups chunks into scenes). It looks at
every n-th frame only, as the paper did to stay under a service's request rate: a scene holds
the person if any sample matches. Samples keep their boxes, so ``draw`` can move a box
between them and ``--report`` can list them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from sprocket_cli.media.ffmpeg import Stopped
from sprocket_cli.registry import face_provider_class
from sprocket_cli.stages.base import PythonStage, Span, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.faces.base import FaceProvider, Frame, PersonRef
    from sprocket_cli.tasks import ChunkRef


class FindFacesConfig(StageConfig):
    person: tuple[str, ...] = Field(min_length=1)
    """Photos of the person (files or URLs; several are averaged), or a name (rekognition)."""
    provider: str = "local"
    """Face provider: ``local`` (dlib, offline) or ``rekognition`` (AWS)."""
    threshold: float | None = Field(default=None, ge=0)
    """Largest face distance that counts as the person (default: the provider's own)."""
    every: int = Field(default=5, ge=1)
    """Look at every n-th frame of a scene (1: every frame)."""


class FindFaces(PythonStage):
    NAME: ClassVar[str] = "find_faces"
    DESCRIPTION: ClassVar[str] = "Find a person's face in each scene (every n-th frame)"
    INPUTS: ClassVar[tuple[str, ...]] = ("cuts",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("faces",)
    Config: ClassVar[type[StageConfig]] = FindFacesConfig

    def run(self, config: StageConfig, span: Span) -> dict[str, Any]:
        assert isinstance(config, FindFacesConfig)
        provider, ref = searcher(config.provider, config.person, config.threshold)
        chunk = span.chunk
        samples = []
        for n, (pts, frame) in enumerate(sample_frames(span.path, chunk, config.every)):
            if span.stop():
                raise Stopped
            matches = [m for m in provider.find(frame, ref) if m.is_match]
            best = min(matches, key=lambda m: m.distance) if matches else None
            samples.append(
                {
                    "pts": pts,
                    "box": None if best is None else list(best.face.box.__dict__.values()),
                    "distance": None if best is None else round(best.distance, 4),
                    "faces": len(matches),
                }
            )
            span.report("computing", n * config.every)
        return {
            "scene": chunk.index,
            "start_pts": chunk.start_pts,
            "end_pts": chunk.end_pts,
            "tb": [chunk.tb_num, chunk.tb_den],
            "origin_pts": chunk.origin_pts,
            "every": config.every,
            "matched": any(s["box"] is not None for s in samples),
            "samples": samples,
        }


@functools.cache
def searcher(
    provider: str, person: tuple[str, ...], threshold: float | None
) -> tuple[FaceProvider, PersonRef]:
    """The provider and the person's reference, made once per worker process and reused."""
    from sprocket_cli.faces.images import load_image

    face_provider = face_provider_class(provider)(threshold=threshold)
    by_name = (
        face_provider.RECOGNIZES_NAMES
        and len(person) == 1
        and not os.path.exists(person[0])
        and "://" not in person[0]
    )
    if by_name:
        return face_provider, face_provider.reference_by_name(person[0])
    return face_provider, face_provider.reference([load_image(p) for p in person])


def sample_frames(path: str, chunk: ChunkRef, every: int) -> Iterator[tuple[int, Frame]]:
    """Every ``every``-th frame of ``chunk`` (its first included), as (pts, RGB pixels)."""
    import av  # lazy: only this stage decodes frames in Python

    from sprocket_cli.faces.images import rgb_frame

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        container.seek(chunk.seek_pts, stream=stream, backward=True)  # the keyframe at or before
        n = 0
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < chunk.start_pts:
                continue  # pre-roll from the keyframe
            if not chunk.is_last and frame.pts >= chunk.end_pts:
                return
            if n % every == 0:
                yield frame.pts, rgb_frame(frame.to_ndarray(format="rgb24"))
            n += 1
